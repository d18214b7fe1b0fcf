@testable import Lookalike
import Testing

@Suite struct CSVTests {
    func rows(_ text: String) throws -> [[String]] {
        var out: [[String]] = []
        try CSV.read(Array(text.utf8)) { fields, _ in out.append(fields) }
        return out
    }

    @Test func quotesCommasNewlinesAndCRLF() throws {
        let r = try rows("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"multi\nline\"\n 1 , 2 ,3\n\n")
        #expect(r == [["a", "b", "c"], ["x, y", "say \"hi\"", "multi\nline"], ["1", "2", "3"]])
    }

    @Test func errorsNameTheLine() {
        #expect(throws: CSV.Failure(line: 2, reason: "a quote in the middle of an unquoted field")) { try rows("a,b\nx\"y,z\n") }
        #expect(throws: CSV.Failure(line: 3, reason: "a quoted field is not closed")) { try rows("a\nb\n\"open\n") }
    }

    @Test func escapeRoundTrips() throws {
        let tricky = ["plain", "with,comma", "with \"quote\"", "new\nline"]
        let line = tricky.map(CSV.escape).joined(separator: ",") + "\n"
        #expect(try rows(line) == [tricky])
    }
}

@Suite struct TrainingDataTests {
    let schema = InteractionSchema(userColumn: "user_id", itemColumn: "item_id", timestampColumn: "timestamp")

    @Test func loadsAndFiltersByTime() throws {
        var d = Interactions()
        try d.load(csv: Array("item_id,user_id,timestamp\ni1,u1,100\ni2,u1,200\ni1,u2,300\n".utf8), source: "s3://b/k", schema: schema, start: 150, end: 400)
        #expect(d.count == 2)
        #expect(d.userIDs == ["u1", "u2"])
        #expect(d.outsideWindow == 1)
        try d.load(csv: Array("user_id,item_id,timestamp\nu3,i9,2026-01-01T00:00:00Z\n".utf8), source: "s3://b/k2", schema: schema)
        #expect(d.count == 3)
    }

    @Test(arguments: [
        ("user_id,item,timestamp\nu1,i1,1\n", "s3://b/k: no column \"item_id\" (ITEM_ID) in its header; the header has user_id, item, timestamp"),
        ("user_id,item_id,timestamp\nu1,i1,yesterday\n", "s3://b/k line 2: \"yesterday\" in column timestamp is not a timestamp (epoch seconds or ISO 8601)"),
        ("user_id,item_id,timestamp\nu1,i1\n", "s3://b/k line 2: expected 3 fields, got 2"),
        ("user_id,item_id,timestamp\n,i1,1\n", "s3://b/k line 2: the user id (column user_id) is empty"),
        ("", "s3://b/k: the object is empty (a header row naming the columns is required)"),
        ("user_id,item_id,timestamp\nu1,\"i1,1\n", "s3://b/k line 2: a quoted field is not closed"),
    ])
    func badDataSaysWhichAndWhere(text: String, message: String) {
        var d = Interactions()
        #expect(throws: TrainingDataError(message)) { try d.load(csv: Array(text.utf8), source: "s3://b/k", schema: schema) }
    }
}

@Suite struct LinearAlgebraTests {
    @Test func orthonormalizedColumnsAreOrthonormal() {
        var rng = SeededRandom(seed: 3)
        var m = DenseMatrix(rows: 500, cols: 12)
        for i in 0..<m.data.count { m.data[i] = rng.gaussian() }
        m.orthonormalizeColumns()
        for i in 0..<12 {
            for j in 0..<12 {
                var dot = 0.0
                for r in 0..<500 { dot += m[r, i] * m[r, j] }
                #expect(abs(dot - (i == j ? 1 : 0)) < 1e-9, "(\(i),\(j)) = \(dot)")
            }
        }
    }

    @Test func truncatedSVDRecoversAPlantedLowRankStructure() {
        // Two disjoint communities: every user touches only their community's items.
        var d = Interactions()
        for u in 0..<40 { for i in 0..<5 { d.add(user: "u\(u)", item: "\(u % 2 == 0 ? "a" : "b")\((u + i) % 10)") } }
        var o = Trainer.Options()
        o.dimensions = 4
        let model = Trainer.train(d, options: o)
        func cos(_ a: String, _ b: String) -> Float {
            let (x, y) = (Int(model.userIndex[a]!), Int(model.userIndex[b]!))
            return (0..<model.dimensions).reduce(0) { $0 + model.embeddings[x * model.dimensions + $1] * model.embeddings[y * model.dimensions + $1] }
        }
        #expect(cos("u0", "u2") > 0.5)
        #expect(abs(cos("u0", "u1")) < 0.2)
    }
}

@Suite struct ModelTests {
    @Test func modelFilesRoundTrip() throws {
        let m = LookalikeModel(dimensions: 2, userIDs: ["a", "bé", ""], embeddings: [1, 0, 0.6, 0.8, 0, 0])
        let back = try LookalikeModel(decoding: m.encoded())
        #expect(back.userIDs == m.userIDs)
        #expect(back.embeddings == m.embeddings)
        #expect(back.userIndex["bé"] == 1)
        #expect(throws: LookalikeModel.Unreadable.self) { try LookalikeModel(decoding: Array(m.encoded().dropLast())) }
    }

    @Test func syntheticDataIsDeterministic() {
        var o = SyntheticData.Options()
        o.users = 300
        o.interactions = 2000
        #expect(SyntheticData.generate(o).interactions == SyntheticData.generate(o).interactions)
        o.seed = 2
        #expect(SyntheticData.generate(o).interactions != { var p = o; p.seed = 1; return SyntheticData.generate(p).interactions }())
    }
}

/// ML-2 quality: a seed drawn from one planted group brings that group back.
@Suite struct AudienceQualityTests {
    static func trained(_ o: SyntheticData.Options) throws -> (LookalikeModel, SyntheticData.Files) {
        let files = SyntheticData.generate(o)
        var d = Interactions()
        try d.load(csv: files.interactions, source: "generated", schema: InteractionSchema(userColumn: "user_id", itemColumn: "item_id", timestampColumn: "timestamp"))
        return (Trainer.train(d), files)
    }

    @Test("ML-2 recall of the planted group at audience size = group size is at least 0.8, far above random")
    func seedFromOneGroupRecoversIt() throws {
        var o = SyntheticData.Options()
        o.users = 4000
        o.items = 800
        o.interactions = 60_000
        o.groups = 8
        o.seedUsers = 100
        let (model, files) = try Self.trained(o)
        let group = Set((0..<o.users).filter { files.groupOf[$0] == 0 }.map(SyntheticData.userID))
        let groupInModel = group.filter { model.userIndex[$0] != nil }
        let seed = files.seedUsers.map(SyntheticData.userID)
        let result = try AudienceGenerator.generate(model, .init(seedUserIDs: seed, includeSeed: true, minMatchingSeedSize: 25, sizes: [groupInModel.count]))
        let hits = result.ranked.filter { groupInModel.contains($0.user) }.count
        let recall = Double(hits) / Double(groupInModel.count)
        let randomRecall = Double(groupInModel.count) / Double(model.userCount)
        #expect(recall >= 0.8, "recall \(recall)")
        #expect(recall > 4 * randomRecall, "recall \(recall) vs random \(randomRecall)")
        #expect(result.recall >= 0.8, "held-out recall \(result.recall)")
        #expect(result.relevance[0].score > 0.3)
    }

    @Test("ML-2 too few matching seeds fail with a message that says how many matched")
    func tooFewSeeds() throws {
        var o = SyntheticData.Options()
        o.users = 300
        o.interactions = 3000
        let (model, _) = try Self.trained(o)
        do {
            _ = try AudienceGenerator.generate(model, .init(seedUserIDs: ["u0000001", "u0000002", "nobody"], includeSeed: false, minMatchingSeedSize: 25, sizes: [10]))
            Issue.record("generated from 3 seeds")
        } catch {
            #expect(error.description.contains("3 distinct users, of which 2 match"))
            #expect(error.description.contains("at least 25"))
        }
    }

    @Test func seedsAreLeftOutUnlessIncluded() throws {
        var o = SyntheticData.Options()
        o.users = 500
        o.interactions = 6000
        o.seedUsers = 30
        let (model, files) = try Self.trained(o)
        let seed = files.seedUsers.map(SyntheticData.userID)
        let without = try AudienceGenerator.generate(model, .init(seedUserIDs: seed, includeSeed: false, minMatchingSeedSize: 25, sizes: [50, 100]))
        #expect(Set(without.ranked.map(\.user)).isDisjoint(with: seed))
        #expect(without.ranked.count == 100)
        #expect(without.relevance.map(\.size) == [50, 100])
        #expect(without.relevance[0].score >= without.relevance[1].score)
        let with = try AudienceGenerator.generate(model, .init(seedUserIDs: seed, includeSeed: true, minMatchingSeedSize: 25, sizes: [50]))
        #expect(!Set(with.ranked.map(\.user)).isDisjoint(with: seed))
    }
}
