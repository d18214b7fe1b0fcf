#if canImport(Glibc)
import Glibc
#endif
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
        // Written with close-on-exec, so a child another test forks meanwhile does not hold it
        // open for writing (which makes exec fail with "text file busy").
        let bytes = try #require(FileManager.default.contents(atPath: Products.path("crml")))
        let fd = open(bin + "/crml", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        try #require(fd >= 0)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        var env = TestCluster.environment
        env["PATH"] = "/usr/bin:/bin"
        env["TMPDIR"] = tmp
        #expect(try await eventually(timeout: 5) { (try? await runProcess(bin + "/crml", ["--help"], environment: env)) != nil },
                "a fork elsewhere may hold the new file for a moment; never for seconds")
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
