import Foundation

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

/// Runs a program to completion off the cooperative thread pool (its blocking wait runs on a
/// thread of its own) and returns its exit code and output. A child still running at the
/// deadline is killed and the call throws.
public func runProcess(_ path: String, _ arguments: [String], stdin: Data? = nil,
                       environment: [String: String]? = nil, timeout: TimeInterval = 120) async throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<ProcessResult, Error>) in
        Thread.detachNewThread {
            // Drain both pipes while the child runs, so a chatty child never blocks on a full pipe.
            let group = DispatchGroup()
            nonisolated(unsafe) var outData = Data(), errData = Data()
            group.enter()
            Thread.detachNewThread { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
            group.enter()
            Thread.detachNewThread { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
            if let stdin { input.fileHandleForWriting.write(stdin) }
            try? input.fileHandleForWriting.close()
            let finished = group.wait(timeout: .now() + timeout) == .success
            if !finished {
                process.terminate()
                kill(process.processIdentifier, SIGKILL)
                group.wait()
            }
            process.waitUntilExit()
            if finished {
                cont.resume(returning: ProcessResult(exitCode: process.terminationStatus, stdout: outData, stderr: errData))
            } else {
                cont.resume(throwing: SubprocessTimeout(command: ([path] + arguments).joined(separator: " ")))
            }
        }
    }
}

/// Runs the `crml` executable built from this package.
public func crml(_ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil, timeout: TimeInterval = 120) async throws -> ProcessResult {
    try await runProcess(Products.path("crml"), arguments, stdin: stdin.map { Data($0.utf8) }, environment: environment, timeout: timeout)
}
