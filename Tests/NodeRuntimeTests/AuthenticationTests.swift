import Digest
import Foundation
import JSON
import Testing
import TestSupport
import Wire

/// SIM-2: every connection authenticates before its first call; no secret on the wire; wrong
/// signatures, unknown keys and replays fail.
@Suite(.serialized) struct AuthenticationTests {
    @Test("SIM-2 an admin key authenticates and the node proves itself")
    func goodKeyAuthenticates() async throws {
        try await withCluster(label: "auth") { c in
            let client = try await c.client()
            #expect(client.serverAccount == "111111111111")
            #expect(client.identity["arn"] == "arn:aws:iam::111111111111:user/admin")
            let me = try await client.call("sts.GetCallerIdentity")
            #expect(me["Account"] == "111111111111")
        }
    }

    @Test("SIM-2 wrong secret, unknown key, replayed signature and calls before authentication all fail")
    func badCredentialsFail() async throws {
        try await withCluster(label: "auth") { c in
            let a = c.account(0)
            // Wrong secret: InvalidSignatureException, and the node hangs up.
            do {
                _ = try await c.client(credentials: .accessKey(a.admin.accessKeyId, secret: "not-the-secret"))
                Issue.record("a wrong secret authenticated")
            } catch RPCCallError.service(let e) {
                #expect(e.type == "InvalidSignatureException")
            }
            // Unknown key: UnrecognizedClientException.
            do {
                _ = try await c.client(credentials: .accessKey("AKIAUNKNOWNKEY000000", secret: "x"))
                Issue.record("an unknown key authenticated")
            } catch RPCCallError.service(let e) {
                #expect(e.type == "UnrecognizedClientException")
            }

            // Replay: capture a good exchange, then send the same auth.Authenticate on a new
            // connection. The new connection's challenge nonce differs, so it must fail.
            let first = try RawConnection(host: a.host, port: a.port)
            let challenge = try #require(first.readJSON())
            let nonce = try #require(challenge["params"]?["nonce"]?.stringValue)
            let clientNonce = Handshake.nonce()
            let identity = Handshake.Identity.accessKey(a.admin.accessKeyId)
            let sig = Handshake.clientSignature(secret: Array(a.admin.secretAccessKey.utf8), serverAccount: a.id.rawValue, serverNonce: nonce, clientNonce: clientNonce, identity: identity)
            let captured = RPCMessage.request(id: .number(0), method: Handshake.authenticateMethod,
                                              params: Handshake.authenticateParams(identity: identity, clientNonce: clientNonce, signature: sig)).line
            #expect(!String(decoding: captured, as: UTF8.self).contains(a.admin.secretAccessKey))
            try first.send(captured)
            #expect(try #require(first.readJSON())["result"]?["account"] == "111111111111")
            let replay = try RawConnection(host: a.host, port: a.port)
            _ = replay.readJSON()
            try replay.send(captured)
            let refused = try #require(replay.readJSON())
            #expect(refused["error"]?["data"]?["type"] == "InvalidSignatureException")
            #expect(replay.waitForClose(timeout: 5))

            // A call before authenticating: UnrecognizedClientException, connection still usable.
            let early = try RawConnection(host: a.host, port: a.port)
            _ = early.readJSON()
            try early.send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sts.GetCallerIdentity\"}\n")
            let e = try #require(early.readJSON())
            #expect(e["error"]?["data"]?["type"] == "UnrecognizedClientException")
            #expect(e["error"]?["data"]?["httpStatus"] == 403)
            #expect(e["id"] == 1)
        }
    }

    @Test("SIM-2 peers prove they are the cluster's node for their account")
    func peerAuthentication() async throws {
        try await withCluster(accounts: 2, label: "peer") { c in
            let b = c.account(1)
            let secret = try #require(Hex.decode(b.nodeSecret))
            let peer = try await c.client(0, credentials: ClientCredentials(identity: .peer(account: b.id.rawValue), secret: secret))
            let pong = try await peer.call("peer.Ping")
            #expect(pong["peer"] == "222222222222")
            // Claiming to be B with the wrong secret fails; so does an account outside the cluster.
            do {
                _ = try await c.client(0, credentials: ClientCredentials(identity: .peer(account: b.id.rawValue), secret: Array("wrong".utf8)))
                Issue.record("a peer with the wrong secret authenticated")
            } catch RPCCallError.service(let e) {
                #expect(e.type == "InvalidSignatureException")
            }
            do {
                _ = try await c.client(0, credentials: ClientCredentials(identity: .peer(account: "999999999999"), secret: secret))
                Issue.record("a stranger authenticated as a peer")
            } catch RPCCallError.service(let e) {
                #expect(e.type == "UnrecognizedClientException")
            }
            // A client key cannot call peer methods, and a peer cannot call the account's API.
            let admin = try await c.client(0)
            await #expect(throws: RPCCallError.self) { try await admin.call("peer.Ping") }
            await #expect(throws: RPCCallError.self) { try await peer.call("iam.ListUsers") }
        }
    }

    @Test("SIM-2 a deleted access key stops working for calls on its open connection")
    func deletedKeyIsRevoked() async throws {
        try await withCluster(label: "revoke") { c in
            let admin = try await c.client()
            _ = try await admin.call("iam.CreateUser", ["UserName": "bob"])
            _ = try await admin.call("iam.PutUserPolicy", ["UserName": "bob", "PolicyName": "all", "PolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#])
            let key = try await admin.call("iam.CreateAccessKey", ["UserName": "bob"])["AccessKey"]
            let id = try #require(key?["AccessKeyId"]?.stringValue), secret = try #require(key?["SecretAccessKey"]?.stringValue)
            let bob = try await c.client(credentials: .accessKey(id, secret: secret))
            #expect(try await bob.call("sts.GetCallerIdentity")["Arn"] == "arn:aws:iam::111111111111:user/bob")
            _ = try await admin.call("iam.DeleteAccessKey", ["UserName": "bob", "AccessKeyId": .string(id)])
            do {
                _ = try await bob.call("sts.GetCallerIdentity")
                Issue.record("a deleted key still works")
            } catch RPCCallError.service(let e) {
                #expect(e.type == "UnrecognizedClientException")
            }
        }
    }
}
