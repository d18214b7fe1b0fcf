import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Testing

@Suite struct ClusterFileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func theDeployExampleIsAValidClusterFile() throws {
        let data = try #require(FileManager.default.contents(atPath: Self.root + "/deploy/cluster.example.json"))
        let c = try ClusterFile.load([UInt8](data))
        #expect(c.accounts.map(\.port) == [7101, 7102])
        #expect(c.account(AccountID("222222222222")!)?.host == "10.0.0.12")
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
