import CleanRoomsModel
import JSON
import Testing

@Test(arguments: ["111111111111", "000000000000", "123456789012"])
func validAccountIDs(_ text: String) {
    #expect(AccountID(text)?.rawValue == text)
}

@Test(arguments: ["", "11111111111", "1111111111111", "11111111111a", "accountA", " 11111111111", "１１１１１１１１１１１１"])
func invalidAccountIDs(_ text: String) {
    #expect(AccountID(text) == nil)
}

@Test func arnRoundTripsAndSplitsItsParts() throws {
    let text = "arn:aws:cleanrooms-ml:us-west-1:222222222222:audience-generation-job/abc"
    let arn = try #require(ARN(text))
    #expect(arn.description == text)
    #expect(arn.service == "cleanrooms-ml")
    #expect(arn.region == "us-west-1")
    #expect(arn.accountID == AccountID("222222222222"))
    #expect(arn.resourceType == "audience-generation-job")
    #expect(arn.resourceID == "abc")
}

@Test func arnResourcePartKeepsColons() throws {
    let arn = try #require(ARN("arn:aws:logs:us-west-1:111111111111:log-group:app:*"))
    #expect(arn.resource == "log-group:app:*")
    #expect(arn.resourceType == "log-group")
    #expect(arn.resourceID == "app:*")
}

@Test func arnSplitsAtColonBytesWhateverFollows() throws {
    let arn = try #require(ARN("arn:aws:s3:::bücket:ké"))
    #expect(arn.resource == "bücket:ké")
    // A combining mark after a colon makes one Character with it; the colon still separates.
    let marked = try #require(ARN("arn:aws:s3::\u{301}1:b"))
    #expect(marked.region == "")
    #expect(marked.account == "\u{301}1")
    #expect(marked.description == "arn:aws:s3::\u{301}1:b")
    #expect(ARN.accountPart(of: "arn:aws:cleanrooms-ml:us-east-1:222222222222:training-dataset/x") == "222222222222")
}

@Test(arguments: ["", "arn", "arn:aws", "arn:aws:s3", "arn:aws:s3:::", "urn:aws:s3:::b", "arn::s3:::b", "arn:aws::::b", "arn\u{301}:aws:s3:::b", "arn:aws:s3:b"])
func invalidARNs(_ text: String) {
    #expect(ARN(text) == nil)
    #expect(ARN.accountPart(of: text) == nil)
}

@Test func accountRootARN() {
    #expect(AccountID("111111111111")!.rootARN().description == "arn:aws:iam::111111111111:root")
}

@Test func identifiersAreCodableAsStrings() throws {
    let a = AccountID("111111111111")!
    #expect(try JSON(encoding: a) == "111111111111")
    #expect(try JSON.string("111111111111").decode(AccountID.self) == a)
    #expect(throws: (any Error).self) { try JSON.string("bad").decode(AccountID.self) }
}
