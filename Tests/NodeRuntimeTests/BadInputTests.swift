#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
import Testing
import TestSupport
import Wire

/// SIM-2: hostile and malformed input against a live node. Each case gets a clear error (or a
/// closed connection for the hopeless ones), and after each the node still serves a normal
/// client.
@Suite(.serialized) struct BadInputTests {

    func stillServes(_ c: TestCluster) async throws {
        let client = try await c.client()
        let me = try await client.call("sts.GetCallerIdentity")
        #expect(me["Account"] == "111111111111")
    }

    @Test("SIM-2 garbage, invalid UTF-8 and non-objects get JSON-RPC errors; the connection stays usable")
    func garbageLines() async throws {
        try await withCluster(label: "bad") { c in
            let conn = try c.rawClient()
            let cases: [([UInt8], Int)] = [
                (Array("hello there\n".utf8), -32700),
                ([0xFF, 0xFE, 0x00, 0x01, 0x0A], -32700),
                (Array("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"iam.GetUser\",\"params\":{\"UserName\":\"".utf8) + [0xC3, 0x28] + Array("\"}}\n".utf8), -32700),
                (Array("[1,2,3]\n".utf8), -32600),
                (Array("42\n".utf8), -32600),
                (Array("{\"id\":1,\"method\":\"iam.GetUser\"}\n".utf8), -32600),
                (Array("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"iam.GetUser\",\"params\":[1]}\n".utf8), 400),
            ]
            for (bytes, code) in cases {
                try conn.send(bytes)
                let reply = try #require(conn.readJSON(), "no reply to \(String(decoding: bytes, as: UTF8.self))")
                #expect(reply["error"]?["code"]?.intValue == code, "\(reply)")
                #expect(reply["error"]?["data"]?["type"]?.stringValue?.isEmpty == false)
            }
            try conn.send("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"sts.GetCallerIdentity\"}\n")
            #expect(conn.readJSON()?["result"]?["Account"] == "111111111111")
            try await stillServes(c)
        }
    }

    /// A client may send its requests and close its side at once: every one is answered,
    /// writes after they are durable, and then the node closes the connection.
    @Test("SIM-2 requests sent just before the client closes its side are all answered")
    func answersAfterHalfClose() async throws {
        try await withCluster(label: "halfclose") { c in
            let conn = try c.rawClient()
            var lines = ""
            for i in 1...20 { lines += "{\"jsonrpc\":\"2.0\",\"id\":\(i),\"method\":\"iam.CreateUser\",\"params\":{\"UserName\":\"half\(i)\"}}\n" }
            try conn.send(lines)
            conn.shutdownWrite()
            var answered = Set<Int>()
            while let reply = conn.readJSON(timeout: 10) {
                if reply["result"]?["User"] != nil, let id = reply["id"]?.intValue { answered.insert(id) }
            }
            #expect(answered == Set(1...20), "answered: \(answered.sorted())")
            #expect(conn.waitForClose(timeout: 10), "the node closes the connection after the last answer")
            let users = try await c.client().call("iam.ListUsers", ["MaxItems": 100])["Users"]?.arrayValue ?? []
            #expect(users.count == 21)
        }
    }

    @Test("SIM-2 JSON nested 100,000 deep is a parse error, not a crash")
    func deepNesting() async throws {
        try await withCluster(label: "bad") { c in
            let conn = try c.rawClient()
            let deep = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"iam.GetUser\",\"params\":{\"x\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}}\n"
            try conn.send(deep)
            let reply = try #require(conn.readJSON())
            #expect(reply["error"]?["code"] == -32700)
            #expect(reply["error"]?["message"]?.stringValue?.contains("nesting deeper than") == true)
            try await stillServes(c)
        }
    }

    @Test("SIM-2 a line over the 4 MiB limit gets an error and the connection is closed")
    func oversizedLine() async throws {
        try await withCluster(label: "bad") { c in
            let conn = try c.rawClient()
            let big = [UInt8](repeating: UInt8(ascii: "a"), count: 4 * 1024 * 1024 + 10) + [0x0A]
            try? conn.send(big)  // the node may stop reading mid-way
            let reply = try #require(conn.readJSON(timeout: 10))
            #expect(reply["error"]?["code"] == -32600)
            #expect(reply["error"]?["message"]?.stringValue?.contains("longer than 4194304 bytes") == true)
            #expect(conn.waitForClose(timeout: 10))
            try await stillServes(c)
        }
    }

    @Test("SIM-2 wrong types for every member of CreateTrainingDataset each name the member")
    func wrongTypesForEveryMember() async throws {
        try await withCluster(label: "bad") { c in
            let client = try await c.client()
            let members = ["name", "roleArn", "trainingData", "tags", "description"]
            let wrong: [String: [JSON]] = ["name": [5, true, [], [:]], "roleArn": [1, ["a"]], "trainingData": ["x", 3, [:]],
                                           "tags": ["x", [1], ["k": 1]], "description": [2, false]]
            for member in members {
                for value in wrong[member]! {
                    var params: JSON = ["name": "ds", "roleArn": "arn:aws:iam::111111111111:role/r", "trainingData": [], "description": "d"]
                    params[member] = value
                    do {
                        _ = try await client.call("cleanroomsml.CreateTrainingDataset", params)
                        Issue.record("accepted \(member) = \(value)")
                    } catch RPCCallError.service(let e) {
                        #expect(e.type == "ValidationException", "\(member) = \(value): \(e)")
                        #expect(e.message.contains("'\(member)"), "\(member) = \(value): \(e.message)")
                    }
                }
            }
            try await stillServes(c)
        }
    }

    @Test("SIM-2 unknown methods and requests before authentication get clear errors")
    func unknownMethodsAndUnauthenticated() async throws {
        try await withCluster(label: "bad") { c in
            let client = try await c.client()
            for m in ["iam.Frobnicate", "nosuchservice.Op", "x", "admin.Nope", "peer.Ping"] {
                do {
                    _ = try await client.call(m)
                    Issue.record("\(m) succeeded")
                } catch RPCCallError.service(let e) {
                    #expect(e.code == -32601 || e.type == "AccessDeniedException", "\(m): \(e)")
                }
            }
            let a = c.account(0)
            let unauth = try RawConnection(host: a.host, port: a.port)
            _ = unauth.readJSON()
            try unauth.send("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"iam.ListUsers\"}\n")
            #expect(unauth.readJSON()?["error"]?["data"]?["type"] == "UnrecognizedClientException")
            try await stillServes(c)
        }
    }

    @Test("SIM-2 a client that connects and says nothing is closed after the handshake timeout; others are served meanwhile")
    func silentClient() async throws {
        try await withCluster(label: "bad") { c in
            let a = c.account(0)
            let silent = try RawConnection(host: a.host, port: a.port)
            #expect(silent.readJSON()?["method"] == "auth.Challenge")
            try await stillServes(c)
            let closed = await Task.detached { silent.waitForClose(timeout: 20) }.value
            #expect(closed)
        }
    }

    @Test("SIM-2 a peer that disconnects mid-line leaves the node serving")
    func disconnectMidLine() async throws {
        try await withCluster(label: "bad") { c in
            for _ in 0..<20 {
                let conn = try c.rawClient()
                try conn.send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"iam.Cre")
            }
            try await stillServes(c)
        }
    }

    @Test("SIM-2 1,000 simultaneous connections are all served")
    func thousandConnections() async throws {
        try await withCluster(label: "bad") { c in
            var lim = rlimit()
            getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lim)
            lim.rlim_cur = lim.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lim)
            let a = c.account(0)
            let served = await Task.detached { () -> Int in
                var conns: [RawConnection] = []
                for _ in 0..<1000 { if let r = try? RawConnection(host: a.host, port: a.port) { conns.append(r) } }
                var ok = 0
                for conn in conns {
                    if let auth = try? conn.authenticate(accessKey: a.admin.accessKeyId, secret: a.admin.secretAccessKey), auth["result"] != nil { ok += 1 }
                }
                for conn in conns { try? conn.send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sts.GetCallerIdentity\"}\n") }
                var answered = 0
                for conn in conns where conn.readJSON(timeout: 20)?["result"]?["Account"] == "111111111111" { answered += 1 }
                return min(ok, answered)
            }.value
            #expect(served == 1000)
            try await stillServes(c)
        }
    }
}
