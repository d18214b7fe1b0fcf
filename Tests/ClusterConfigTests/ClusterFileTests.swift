import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Testing

@Suite struct ClusterFileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func theKubernetesExampleIsAValidClusterFileWithItsSecretsApart() throws {
        let dir = Self.root + "/deploy/kubernetes/"
        let publicPart = [UInt8](try #require(FileManager.default.contents(atPath: dir + "cluster.json")))
        let secrets = [UInt8](try #require(FileManager.default.contents(atPath: dir + "secrets.json")))
        let c = try ClusterSecrets.load(cluster: publicPart, secrets: secrets)
        #expect(c.accounts.map(\.port) == [7100, 7100, 7100])
        #expect(c.account(AccountID("222222222222")!)?.host == "crml-1.crml")
        // The public part alone names the account that lacks its secrets.
        #expect(throws: ClusterFileError.self) { try ClusterSecrets.load(cluster: publicPart, secrets: nil) }
        do { _ = try ClusterSecrets.load(cluster: publicPart, secrets: nil) } catch { #expect("\(error)".contains("111111111111") && "\(error)".contains("--secrets")) }
    }

    @Test func splitAndMergeRoundTrip() throws {
        let a = ClusterFile.Account(id: AccountID("111111111111")!, host: "h", port: 7000, nodeSecret: "0a0b", admin: .init(accessKeyId: "AKIAX", secretAccessKey: "s3cr3t"))
        let b = ClusterFile.Account(id: AccountID("222222222222")!, host: "g", port: 7001, nodeSecret: "0c0d", admin: .init(accessKeyId: "AKIAY", secretAccessKey: "t0p"))
        let (publicPart, secrets) = try ClusterSecrets.split(ClusterFile(accounts: [a, b]))
        let text = String(decoding: publicPart, as: UTF8.self)
        #expect(!text.contains("0a0b") && !text.contains("s3cr3t") && !text.contains("AKIAX"))
        let back = try ClusterSecrets.load(cluster: publicPart, secrets: secrets)
        #expect(back.accounts.map(\.nodeSecret) == ["0a0b", "0c0d"])
        #expect(back.accounts.map(\.admin.secretAccessKey) == ["s3cr3t", "t0p"])
        #expect(back.accounts.map(\.host) == ["h", "g"])
        // A whole file needs no secrets file; one that names an unknown account is refused.
        #expect(try ClusterSecrets.load(cluster: try ClusterFile(accounts: [a]).encoded(), secrets: nil).accounts.count == 1)
        let stray = Array(#"{"accounts":[{"id":"333333333333","nodeSecret":"00"}]}"#.utf8)
        #expect(throws: ClusterFileError.self) { try ClusterSecrets.load(cluster: publicPart, secrets: stray) }
        #expect(throws: ClusterFileError.self) { try ClusterSecrets.load(cluster: publicPart, secrets: Array("not json".utf8)) }
    }

    @Test func scpsBindMembersButNotTheManagementAccount() throws {
        let mgmt = AccountID("111111111111")!, member = AccountID("222222222222")!, other = AccountID("333333333333")!, outside = AccountID("444444444444")!
        let deny = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#
        var org = ClusterFile.Organization(id: "o-x", managementAccount: mgmt, members: [member, other])
        org.policies = [.init(name: "DenyAll", document: deny, targets: [member])]
        let c = ClusterFile(accounts: [], organizations: [org])
        #expect(c.organization(of: mgmt)?.id == "o-x")
        #expect(c.organization(of: mgmt)?.scps == nil)
        #expect(c.organization(of: member)?.scps?.map(\.name) == ["FullAWSAccess", "DenyAll"])
        #expect(c.organization(of: other)?.scps?.map(\.name) == ["FullAWSAccess"])
        #expect(c.organization(of: outside) == nil)
    }

    @Test func allowListStyleDropsTheDefaultPolicy() throws {
        var org = ClusterFile.Organization(id: "o-y", managementAccount: AccountID("111111111111")!, members: [AccountID("222222222222")!])
        org.fullAWSAccess = false
        let c = ClusterFile(accounts: [], organizations: [org])
        #expect(c.organization(of: AccountID("222222222222")!)?.scps?.isEmpty == true)
    }

    @Test func roundTripsThroughItsEncoding() throws {
        let a = ClusterFile.Account(id: AccountID("111111111111")!, port: 7000, nodeSecret: "00", admin: .init(accessKeyId: "AKIA", secretAccessKey: "s"))
        let c = ClusterFile(accounts: [a])
        let back = try ClusterFile.load(try c.encoded())
        #expect(back.accounts.first?.port == 7000)
        #expect(back.region == "us-west-1")
    }
}

@Test func aMinimalHandWrittenClusterFileLoads() throws {
    let text = #"{"accounts":[{"id":"111111111111","nodeSecret":"00","admin":{"accessKeyId":"AKIA","secretAccessKey":"s"}}],"organizations":[{"id":"o-1","managementAccount":"111111111111"}]}"#
    let c = try ClusterFile.load(Array(text.utf8))
    #expect(c.accounts[0].host == "127.0.0.1" && c.accounts[0].port == 0 && c.accounts[0].admin.userName == "admin")
    #expect(c.organizations[0].fullAWSAccess)
}

@Suite struct PeerEndpointsTests {
    @Test func endpointsAreReadAgainOnlyWhenTheFileChanges() throws {
        let dir = NSTemporaryDirectory() + "peer-endpoints-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/cluster.json"
        func write(_ port: Int, host: String = "127.0.0.1") throws {
            let text = #"{"accounts":[{"id":"111111111111","host":"\#(host)","port":\#(port),"nodeSecret":"00","admin":{"accessKeyId":"A","secretAccessKey":"s"}},{"id":"222222222222","port":0,"nodeSecret":"00","admin":{"accessKeyId":"B","secretAccessKey":"s"}}]}"#
            // Replaced whole, as the launcher replaces it.
            try text.write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
            _ = rename(path + ".tmp", path)
        }
        try write(7001)
        let e = PeerEndpoints(path: path)
        #expect(e.endpoint("111111111111") == .init(host: "127.0.0.1", port: 7001))
        #expect(e.endpoint("222222222222") == nil)  // no port yet
        #expect(e.endpoint("333333333333") == nil)
        try write(7002, host: "node-a.example")
        #expect(e.endpoint("111111111111") == .init(host: "node-a.example", port: 7002))
        // A file that cannot be read keeps what was known.
        try "{not json".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(e.endpoint("111111111111")?.port == 7002)
    }
}
