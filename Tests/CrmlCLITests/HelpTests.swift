import Foundation
import Testing
import TestSupport

/// Every command's help: `--help` exits 0 and prints one `usage:` synopsis that names every
/// option the help lists; defaults are stated in the options, not again in the text; no
/// command is a usage error (252) with its help on stderr; `crml --version` prints a version.
@Suite struct HelpTests {
    static let leaves = [
        "demo", "call", "node", "cluster up", "cluster status", "cluster down", "cluster kill", "cluster pause", "cluster resume", "cluster restart",
        "fault partition", "fault loss", "fault delay", "fault duplicate", "fault reorder", "fault heal", "fault list", "fault failpoint",
        "fault failpoints", "check run", "check analyze", "data generate", "data upload", "policy simulate",
        "bench policy", "bench node", "bench lookalike", "bench cross-account", "bench json", "bench sim",
        "sim run", "sim replay", "sim shrink",
    ]
    static let groups = ["cluster", "fault", "check", "data", "policy", "bench", "sim"]

    @Test(arguments: leaves + groups)
    func helpIsWhole(_ command: String) async throws {
        let r = try await crml(command.split(separator: " ").map(String.init) + ["--help"])
        #expect(r.exitCode == 0, "crml \(command) --help exited \(r.exitCode): \(r.stderrText)")
        let lines = r.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.filter { $0.hasPrefix("usage:") }.count == 1, "crml \(command) --help: \(r.stdoutText)")
        let synopsis = lines.prefix { !$0.isEmpty }.joined(separator: "\n")
        var inOptions = false
        for line in lines {
            if line == "options:" { inOptions = true; continue }
            guard inOptions, line.hasPrefix("  --") else { continue }
            let option = String(line.dropFirst(2).prefix { $0 != " " })
            if option == "--help" { continue }
            #expect(synopsis.contains(option), "crml \(command): \(option) is missing from the synopsis\n\(synopsis)")
        }
        let prose = lines.drop { !$0.isEmpty }.prefix { $0 != "options:" }.joined(separator: "\n")
        #expect(!prose.contains("(default"), "crml \(command): a default stated outside the options: \(prose)")
    }

    @Test(arguments: groups)
    func aGroupWithoutASubcommandIsAUsageError(_ group: String) async throws {
        let r = try await crml([group])
        #expect(r.exitCode == 252)
        #expect(r.stderrText.hasPrefix("usage:"))
    }

    @Test func version() async throws {
        let r = try await crml(["--version"])
        #expect(r.exitCode == 0)
        #expect(r.stdoutText.hasPrefix("crml 0."))
    }

    /// docs/protocol.md's method table names every operation the nodes serve.
    @Test(arguments: ["iam", "sts", "s3", "glue", "cleanroomsml", "cleanrooms", "cloudtrail"])
    func protocolDocListsEveryOperation(_ service: String) async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let doc = try String(contentsOfFile: root + "/docs/protocol.md", encoding: .utf8)
        let row = try #require(doc.split(separator: "\n").first { $0.hasPrefix("| `\(service)` |") }, "no row for \(service)")
        let names = Set(row.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init))
        let r = try await crml(["call", service, "help"])
        let operations = r.stdoutText.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            return t.hasPrefix("\(service).") ? String(t.dropFirst(service.count + 1)) : nil
        }
        #expect(!operations.isEmpty)
        for op in operations { #expect(names.contains(op), "docs/protocol.md does not list \(service).\(op)") }
    }
}
