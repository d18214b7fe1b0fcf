import Foundation
import Processes

/// What a finished child process left behind.
public struct ProcessResult: Sendable {
    public var exitCode: Int32
    public var stdout: Data
    public var stderr: Data

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

public struct SubprocessTimeout: Error, CustomStringConvertible {
    public var command: String
    public var description: String { "timed out: \(command)" }
}

/// Where SwiftPM put the package's executables: beside the running test binary.
public enum Products {
    public static var directory: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }

    public static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }
}

/// Runs a program to completion off the cooperative thread pool (the blocking wait runs on a
/// thread of its own) and returns its exit code and output. A child still running at the
/// deadline is killed and the call throws.
public func runProcess(_ path: String, _ arguments: [String], stdin: Data? = nil,
                       environment: [String: String]? = nil, timeout: TimeInterval = 120) async throws -> ProcessResult {
    try await withCheckedThrowingContinuation { (cont: CheckedContinuation<ProcessResult, Error>) in
        Thread.detachNewThread {
            do {
                let r = try Spawn.run(path, arguments, stdin: stdin.map { [UInt8]($0) } ?? [], environment: environment, timeout: timeout)
                if r.timedOut {
                    cont.resume(throwing: SubprocessTimeout(command: ([path] + arguments).joined(separator: " ")))
                } else {
                    cont.resume(returning: ProcessResult(exitCode: r.exitCode, stdout: Data(r.stdout), stderr: Data(r.stderr)))
                }
            } catch {
                cont.resume(throwing: error)
            }
        }
    }
}

/// Runs the `crml` executable built from this package.
public func crml(_ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil, timeout: TimeInterval = 120) async throws -> ProcessResult {
    try await runProcess(Products.path("crml"), arguments, stdin: stdin.map { Data($0.utf8) }, environment: environment, timeout: timeout)
}
