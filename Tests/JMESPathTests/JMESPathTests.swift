import Foundation
import JMESPath
import JSON
import Testing

/// `--query`: JMESPath as aws-cli evaluates it. `vectors.json` holds our own expressions over
/// our own documents with the answers of the reference implementation (the `jmespath` package
/// aws-cli uses; `scripts/gen-jmespath-vectors.py` wrote them): every case must agree, and
/// every expression it refuses must be refused here too.
@Suite struct JMESPathTests {
    struct Case: CustomStringConvertible {
        var document: String
        var expression: String
        var expected: JSON?
        var description: String { "\(document): \(expression)" }
    }

    static let vectors: (documents: [String: JSON], cases: [Case]) = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("vectors.json").path
        let json = (try? JSONParser.parse([UInt8](FileManager.default.contents(atPath: path) ?? Data()))) ?? .null
        let cases = (json["cases"]?.arrayValue ?? []).map { c in
            Case(document: c["document"]?.stringValue ?? "", expression: c["expression"]?.stringValue ?? "",
                 expected: c["error"]?.stringValue != nil ? JSON?.none : .some(c["result"] ?? .null))
        }
        return (json["documents"]?.objectValue ?? [:], cases)
    }()

    @Test func vectorsAreThere() {
        #expect(Self.vectors.cases.count > 140)
    }

    @Test(arguments: vectors.cases)
    func agreesWithTheReference(_ c: Case) throws {
        let document = try #require(Self.vectors.documents[c.document])
        guard let expected = c.expected else {
            do {
                let got = try JMESPath(c.expression).search(document)
                Issue.record("the reference refuses \(c.expression); here it gave \(got)")
            } catch {}
            return
        }
        let got = try JMESPath(c.expression).search(document)
        #expect(got == expected, "\(c.expression)")
    }

    @Test func errorsSayWhereAndWhy() {
        let e = #expect(throws: JMESPathError.self) { _ = try JMESPath("Users[?Path=='/'.UserName") }
        #expect(e?.description.contains("at character") == true)
        let unknown = #expect(throws: JMESPathError.self) { _ = try JMESPath("lenght(Users)") }
        #expect(unknown?.reason.contains("unknown function lenght()") == true)
    }

    /// Fuzz-style: random byte strings and mangled valid expressions never crash the parser or
    /// the evaluator; they answer or throw.
    @Test func hostileExpressionsNeverCrash() {
        let alphabet = Array("abc.[]{}()*?@&|!=<>'`\",:-0123 \\")
        var state: UInt64 = 42
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        let document = Self.vectors.documents["nested"] ?? .null
        for _ in 0..<20_000 {
            let text = String((0..<next(24)).map { _ in alphabet[next(alphabet.count)] })
            if let q = try? JMESPath(text) { _ = try? q.search(document) }
        }
    }
}
