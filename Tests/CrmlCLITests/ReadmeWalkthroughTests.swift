import Foundation
import Testing
import TestSupport

/// The README's walkthrough, run exactly as written (every `sh` block of its "Walkthrough"
/// section, in order, but for the build step): if the README drifts from the tools, this fails.
@Suite struct ReadmeWalkthroughTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func walkthroughScript() throws -> String {
        let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
        guard let start = readme.range(of: "\n## Walkthrough\n") else { throw CocoaError(.fileReadCorruptFile) }
        let section = readme[start.upperBound...].split(separator: "\n## ", maxSplits: 1)[0]
        var lines: [String] = []
        var inBlock = false
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```sh") { inBlock = true; continue }
            if line.hasPrefix("```") { inBlock = false; continue }
            if inBlock && !line.hasPrefix("swift build") && !line.hasPrefix("export PATH=") { lines.append(String(line)) }
        }
        return lines.joined(separator: "\n")
    }

    @Test("README walkthrough: three accounts, a user and a policy, data, Glue, a training dataset, tags, a job across accounts, audit (XA-1, XA-4, XA-5, XA-7, XA-8, XA-10, TG-3, PV-3)")
    func walkthroughRunsAsWritten() async throws {
        let script = try Self.walkthroughScript()
        #expect(script.contains("crml cluster up --accounts 3"))
        var env = TestCluster.environment
        env["PATH"] = Products.directory.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["CRML_DIR"] = FileManagerTemp.directory("readme")
        let r = try await runProcess("/bin/bash", ["-c", "set -euo pipefail\ncd \(Self.root)\n" + script], environment: env, timeout: 180)
        if r.exitCode != 0 {
            _ = try? await runProcess(Products.path("crml"), ["cluster", "down"], environment: env)
        }
        #expect(r.exitCode == 0, "walkthrough failed:\n\(r.stdoutText)\n\(r.stderrText)")
        #expect(r.stdoutText.contains("arn:aws:iam::111111111111:user/analyst"))
        #expect(r.stdoutText.contains("denied, as the policy says"))
        #expect(r.stderrText.contains("An error occurred (AccessDenied) when calling the CreateUser operation"))
        #expect(r.stderrText.contains("An error occurred (AccessDeniedException) when calling the GetTrainingDataset operation"))
        #expect(r.stdoutText.contains("\"team\": \"ads\""))
        #expect(r.stdoutText.contains("CreateTrainingDataset\n"))
        // The cross-account part (XA-1, XA-4, XA-5, XA-8, PV-3).
        #expect(r.stdoutText.contains("b-job\tACTIVE\t222222222222"))
        #expect(r.stdoutText.contains("222222222222-b-job\tACTIVE\t222222222222\tNone"))
        #expect(r.stdoutText.contains("denied: that is B's ARN"))
        #expect(r.stdoutText.contains("gone from A too"))
        #expect(r.stderrText.contains("An error occurred (ResourceNotFoundException) when calling the GetAudienceGenerationJob operation"))
    }

    /// The `sh` block of a docs page's "Try it" section.
    static func tryIt(_ page: String) throws -> String {
        let text = try String(contentsOfFile: root + "/" + page, encoding: .utf8)
        guard let start = text.range(of: "\n## Try it\n") else { throw CocoaError(.fileReadCorruptFile) }
        let section = text[start.upperBound...].split(separator: "\n## ", maxSplits: 1)[0]
        guard let open = section.range(of: "```sh\n"), let close = section[open.upperBound...].range(of: "\n```") else { throw CocoaError(.fileReadCorruptFile) }
        return String(section[open.upperBound..<close.lowerBound])
    }

    @Test("docs/collaborations.md \"Try it\" runs as written: C creates, A is invited and joins, the creator records A ACTIVE (CO-4)")
    func collaborationsTryItRunsAsWritten() async throws {
        let script = try Self.tryIt("docs/collaborations.md")
        var env = TestCluster.environment
        env["PATH"] = Products.directory.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["CRML_DIR"] = FileManagerTemp.directory("collaborations-doc")
        let r = try await runProcess("/bin/bash", ["-c", "set -euo pipefail\n" + script], environment: env, timeout: 120)
        if r.exitCode != 0 { _ = try? await runProcess(Products.path("crml"), ["cluster", "down"], environment: env) }
        #expect(r.exitCode == 0, "\(r.stdoutText)\n\(r.stderrText)")
        #expect(r.stdoutText.contains("\"INVITED\"\n\"ACTIVE\"\nACTIVE\n"), "\(r.stdoutText)")
    }

    @Test("crml demo passes from the package root and stops its nodes")
    func demoPasses() async throws {
        let r = try await runProcess(Products.path("crml"), ["demo"], environment: TestCluster.environment, timeout: 180)
        #expect(r.exitCode == 0, "\(r.stdoutText)\n\(r.stderrText)")
        #expect(r.stdoutText.contains("demo passed"))
        #expect(!r.stdoutText.contains("DIFFERENT"))
    }
}
