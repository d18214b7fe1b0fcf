import CleanRoomsModel
import JSON
import Testing
import Wire

@Test func parsesARequest() throws {
    let m = try RPCMessage.parse(Array(#"{"jsonrpc":"2.0","id":7,"method":"iam.GetUser","params":{"UserName":"a"}}"#.utf8)).get()
    #expect(m == .request(id: .number(7), method: "iam.GetUser", params: ["UserName": "a"]))
}

@Test func stringIdsAndMissingParamsAreFine() throws {
    let m = try RPCMessage.parse(Array(#"{"jsonrpc":"2.0","id":"x1","method":"sts.GetCallerIdentity"}"#.utf8)).get()
    #expect(m == .request(id: .string("x1"), method: "sts.GetCallerIdentity", params: [:]))
}

@Test(arguments: [
    ("{", RPCErrorCode.parseError, false),
    ("[1]", RPCErrorCode.invalidRequest, false),
    ("5", RPCErrorCode.invalidRequest, false),
    (#"{"id":1,"method":"a.B"}"#, RPCErrorCode.invalidRequest, true),
    (#"{"jsonrpc":"1.0","id":1,"method":"a.B"}"#, RPCErrorCode.invalidRequest, true),
    (#"{"jsonrpc":"2.0","id":1,"method":5}"#, RPCErrorCode.invalidRequest, true),
    (#"{"jsonrpc":"2.0","id":1,"method":""}"#, RPCErrorCode.invalidRequest, true),
    (#"{"jsonrpc":"2.0","id":{"a":1},"method":"a.B"}"#, RPCErrorCode.invalidRequest, false),
    (#"{"jsonrpc":"2.0","id":1.5,"method":"a.B"}"#, RPCErrorCode.invalidRequest, false),
    (#"{"jsonrpc":"2.0","id":1,"method":"a.B","params":"x"}"#, RPCErrorCode.invalidRequest, true),
    (#"{"jsonrpc":"2.0","id":1}"#, RPCErrorCode.invalidRequest, true),
])
func rejectsMalformedMessages(text: String, code: Int, keepsID: Bool) {
    switch RPCMessage.parse(Array(text.utf8)) {
    case .success(let m): Issue.record("accepted \(text) as \(m)")
    case .failure(let e):
        #expect(e.error.code == code, "\(text): \(e.error)")
        #expect((e.id != nil) == keepsID, "\(text)")
        #expect(!e.error.type.isEmpty)
    }
}

@Test func errorsCarryTheAWSTypeAndStatus() throws {
    let e = RPCError(AWSError(.accessDenied, "no"))
    let line = RPCMessage.error(id: .number(3), error: e).line
    #expect(line.last == 0x0A)
    #expect(!line.dropLast().contains(0x0A))
    let back = try RPCMessage.parse(Array(line.dropLast())).get()
    #expect(back == .error(id: .number(3), error: e))
    let json = try JSONParser.parse(Array(line.dropLast()))
    #expect(json["error"]?["data"] == ["type": "AccessDeniedException", "httpStatus": 403])
    #expect(json["error"]?["code"] == 403)
}

@Test func handshakeSignaturesBindBothNoncesAndTheIdentity() {
    let secret = Array("s3cr3t".utf8)
    let base = Handshake.clientSignature(secret: secret, serverAccount: "111111111111", serverNonce: "aa", clientNonce: "bb", identity: .accessKey("AKIA1"))
    #expect(base.count == 64)
    #expect(base == Handshake.clientSignature(secret: secret, serverAccount: "111111111111", serverNonce: "aa", clientNonce: "bb", identity: .accessKey("AKIA1")))
    // A replay against a new server nonce, another account, identity or secret does not verify.
    #expect(base != Handshake.clientSignature(secret: secret, serverAccount: "111111111111", serverNonce: "ab", clientNonce: "bb", identity: .accessKey("AKIA1")))
    #expect(base != Handshake.clientSignature(secret: secret, serverAccount: "222222222222", serverNonce: "aa", clientNonce: "bb", identity: .accessKey("AKIA1")))
    #expect(base != Handshake.clientSignature(secret: secret, serverAccount: "111111111111", serverNonce: "aa", clientNonce: "bb", identity: .peer(account: "111111111111")))
    #expect(base != Handshake.clientSignature(secret: Array("other".utf8), serverAccount: "111111111111", serverNonce: "aa", clientNonce: "bb", identity: .accessKey("AKIA1")))
    // The server's proof differs from the client's.
    #expect(base != Handshake.serverSignature(secret: secret, serverAccount: "111111111111", serverNonce: "aa", clientNonce: "bb", identity: .accessKey("AKIA1")))
    #expect(Handshake.nonce() != Handshake.nonce())
}

@Test func authenticateParamsRoundTrip() throws {
    let p = Handshake.authenticateParams(identity: .peer(account: "222222222222"), clientNonce: String(repeating: "a", count: 64), signature: String(repeating: "b", count: 64))
    let parsed = try #require(Handshake.parseAuthenticate(p))
    #expect(parsed.identity == .peer(account: "222222222222"))
    #expect(Handshake.parseAuthenticate(["accessKeyId": "A", "peerAccount": "222222222222", "clientNonce": .string(String(repeating: "a", count: 64)), "signature": .string(String(repeating: "b", count: 64))]) == nil)
    #expect(Handshake.parseAuthenticate(["accessKeyId": "A", "clientNonce": "short", "signature": .string(String(repeating: "b", count: 64))]) == nil)
}

/// Every kind of message writes the bytes of its `json`, one line.
@Test(arguments: [
    RPCMessage.request(id: .number(7), method: "iam.GetUser", params: ["UserName": "a\"b"]),
    .request(id: .string("x\n1"), method: "sts.GetCallerIdentity", params: [:]),
    .notification(method: "peer.Ping", params: [1, "two"]),
    .result(id: .number(-3), result: ["trainingDatasets": [["name": "é"]], "nextToken": nil]),
    .error(id: nil, error: RPCError(AWSError(.accessDenied, "no \\ way"))),
    .error(id: .string("q"), error: .invalidRequest("bad")),
])
func lineIsTheMessagesJSON(message: RPCMessage) throws {
    #expect(message.line == JSONWriter.bytes(message.json) + [0x0A])
    #expect(try RPCMessage.parse(Array(message.line.dropLast())).get() == message)
}
