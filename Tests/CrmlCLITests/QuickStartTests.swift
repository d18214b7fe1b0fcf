import Foundation
import Testing
import TestSupport

/// README's quick start: `crml demo` needs nothing but the `crml` executable, and a demo that
/// fails leaves nothing behind.
@Suite(.serialized) struct QuickStartTests {
    /// `crml` copied alone into an empty folder, as `swift run crml` leaves it on a fresh clone
    /// (no `crml-node` beside it): it starts its nodes itself.
    @Test("SIM-1 crml alone runs the demo: it is its own node executable")
    func crmlAloneRunsTheDemo() async throws {
        let bin = FileManagerTemp.directory("bin")
        let tmp = FileManagerTemp.directory("tmp")
        defer { try? FileManager.default.removeItem(atPath: bin); try? FileManager.default.removeItem(atPath: tmp) }
        try FileManager.default.copyItem(atPath: Products.path("crml"), toPath: bin + "/crml")
        var env = TestCluster.environment
        env["PATH"] = "/usr/bin:/bin"
        env["TMPDIR"] = tmp
        let r = try await runProcess(bin + "/crml", ["demo"], environment: env, timeout: 180)
        #expect(r.exitCode == 0, "\(r.stdoutText)\n\(r.stderrText)")
        #expect(r.stdoutText.contains("demo passed"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty, "the demo's temporary cluster is removed")
    }

    /// Nodes that cannot start (an unknown failpoint armed through the environment) fail the
    /// demo: it says why, stops what it started and removes its temporary folder.
    @Test func aFailedDemoRemovesWhatItCreated() async throws {
        let tmp = FileManagerTemp.directory("tmp")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        var env = TestCluster.environment
        env["TMPDIR"] = tmp
        env["CRML_FAILPOINTS"] = "no-such-failpoint"
        let r = try await runProcess(Products.path("crml"), ["demo"], environment: env, timeout: 120)
        #expect(r.exitCode != 0)
        #expect(r.stderrText.contains("unknown failpoint no-such-failpoint"), "\(r.stderrText)")
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp)
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
