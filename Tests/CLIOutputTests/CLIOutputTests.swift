import CLIOutput
import Foundation
import JSON
import Testing

/// `--output text` and `--output table` print what aws-cli prints. `vectors.json` holds our own
/// answers as aws-cli's own formatters print them (`scripts/gen-output-vectors.py`; no colour,
/// an 80-column terminal).
@Suite struct CLIOutputTests {
    struct Case: CustomStringConvertible {
        var name: String
        var document: JSON
        var text: String
        var table: String
        var description: String { name }
    }

    static let cases: [Case] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("vectors.json").path
        let json = (try? JSONParser.parse([UInt8](FileManager.default.contents(atPath: path) ?? Data()))) ?? .null
        return (json["cases"]?.arrayValue ?? []).map {
            Case(name: $0["name"]?.stringValue ?? "", document: $0["document"] ?? .null, text: $0["text"]?.stringValue ?? "", table: $0["table"]?.stringValue ?? "")
        }
    }()

    @Test func vectorsAreThere() { #expect(Self.cases.count >= 10) }

    @Test(arguments: cases)
    func textAsAwsCliPrintsIt(_ c: Case) {
        #expect(TextOutput.render(c.document) == c.text)
    }

    @Test(arguments: cases)
    func tableAsAwsCliPrintsIt(_ c: Case) {
        #expect(TableOutput.render(c.document, title: c.name, width: 80) == c.table)
    }
}
