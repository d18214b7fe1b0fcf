import Foundation
import JSON
import Testing
import TestSupport
import Wire

/// SIM-2: the wire contract: replies matched by id with many requests in flight on one
/// connection, and a per-request timeout on the client.
@Suite(.serialized) struct ProtocolTests {
    @Test("SIM-2 two hundred requests in flight on one connection are all answered, each with its own id")
    func manyInFlight() async throws {
        try await withCluster(label: "proto") { c in
            let client = try await c.client()
            let names = (0..<200).map { "user\($0)" }
            let results = try await withThrowingTaskGroup(of: (String, String).self) { group in
                for n in names {
                    group.addTask {
                        let r = try await client.call("iam.CreateUser", ["UserName": .string(n)])
                        return (n, r["User"]?["UserName"]?.stringValue ?? "")
                    }
                }
                var out: [(String, String)] = []
                for try await r in group { out.append(r) }
                return out
            }
            #expect(results.count == 200)
            #expect(results.allSatisfy { $0.0 == $0.1 })
        }
    }

    @Test("SIM-2 one thread drives several connections: submit sends without waiting, receiveAvailable collects what arrived")
    func oneThreadManyConnections() async throws {
        try await withCluster(label: "proto") { c in
            let a = c.account(0)
            let clients = try (0..<4).map { _ in
                try RPCClient.connect(host: a.host, port: UInt16(a.port), credentials: .accessKey(a.admin.accessKeyId, secret: a.admin.secretAccessKey),
                                      readerThread: false)
            }
            var expected: [Int: Set<Int>] = [:]
            for (k, client) in clients.enumerated() {
                expected[k] = [try client.submit("sts.GetCallerIdentity"), try client.submit("iam.GetUser", ["UserName": "nobody"])]
            }
            var answered: [Int: [RPCMessage]] = [:]
            var fds = clients.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
            let deadline = Date().addingTimeInterval(10)
            while answered.values.reduce(0, { $0 + $1.count }) < 8, Date() < deadline {
                _ = poll(&fds, nfds_t(fds.count), 100)
                for k in fds.indices where fds[k].revents != 0 { answered[k, default: []] += try clients[k].receiveAvailable() }
            }
            for (k, messages) in answered {
                var ids = Set<Int>()
                for m in messages {
                    switch m {
                    case .result(.number(let id), let r): ids.insert(id); #expect(r["Account"] == "111111111111")
                    case .error(.number(let id)?, let e): ids.insert(id); #expect(e.type == "NoSuchEntity")
                    default: Issue.record("unexpected \(m)")
                    }
                }
                expected[k]!.subtract(ids)
            }
            let unanswered = expected.filter { !$0.value.isEmpty }
            #expect(unanswered.isEmpty, "unanswered: \(unanswered)")
        }
    }

    @Test("SIM-2 replies carry the request's own id, numeric or string")
    func idsAreEchoed() async throws {
        try await withCluster(label: "proto") { c in
            let a = c.account(0)
            let conn = try RawConnection(host: a.host, port: a.port)
            _ = try conn.authenticate(accessKey: a.admin.accessKeyId, secret: a.admin.secretAccessKey)
            try conn.send("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"sts.GetCallerIdentity\"}\n{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"iam.GetUser\",\"params\":{\"UserName\":\"nobody\"}}\n")
            let first = try #require(conn.readJSON())
            let second = try #require(conn.readJSON())
            #expect(first["id"] == "abc")
            #expect(first["result"]?["Account"] == "111111111111")
            #expect(second["id"] == 77)
            #expect(second["error"]?["data"] == ["type": "NoSuchEntity", "httpStatus": 404])
            #expect(second["error"]?["code"] == 404)
        }
    }

    @Test("SIM-2 a request the node does not answer in time fails with a timeout on the client")
    func clientTimeout() async throws {
        try await withCluster(label: "proto") { c in
            let client = try await c.client()
            _ = try await c.crml(["cluster", "pause", "111111111111"])
            let start = Date()
            do {
                _ = try await client.call("sts.GetCallerIdentity", timeout: 0.3)
                Issue.record("a paused node answered")
            } catch RPCCallError.timeout(let m, _) {
                #expect(m == "sts.GetCallerIdentity")
            }
            #expect(Date().timeIntervalSince(start) < 5)
            _ = try await c.crml(["cluster", "resume", "111111111111"])
        }
    }
}
