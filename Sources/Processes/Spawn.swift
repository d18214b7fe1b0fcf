#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Starting child processes with `posix_spawn` (Foundation's `Process` spins a CPU in
/// `waitUntilExit` off the main thread on Linux, so neither the tools nor the tests use it).
public enum Spawn {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// What a finished child left behind.
    public struct Result: Sendable {
        public var exitCode: Int32
        /// The signal that ended it, if one did.
        public var signal: Int32?
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var timedOut: Bool
    }

    private static func cStrings(_ list: [String]) -> [UnsafeMutablePointer<CChar>?] {
        list.map { strdup($0) } + [nil]
    }

    private static func environmentList(_ env: [String: String]?) -> [String] {
        (env ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
    }

    /// Starts `path args` in a session of its own (it outlives its parent), stdin from
    /// /dev/null, stdout and stderr appended to `logFile`. Returns its pid.
    public static func detached(_ path: String, _ args: [String], logFile: String, environment: [String: String]? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(0x80))  // POSIX_SPAWN_SETSID
        return try spawn(path, args, &actions, &attr, environment)
    }

    private static func spawn(_ path: String, _ args: [String], _ actions: inout posix_spawn_file_actions_t, _ attr: inout posix_spawnattr_t,
                              _ environment: [String: String]?) throws -> pid_t {
        let argv = cStrings([path] + args)
        let envp = cStrings(environmentList(environment))
        defer { for p in argv { free(p) }; for p in envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        guard rc == 0 else { throw Failure(description: "cannot start \(path): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Runs `path args` to completion, feeding `stdin` and collecting stdout and stderr (drained
    /// by threads while it runs, so a chatty child never blocks). Blocking: call it from a thread
    /// of its own. A child still running after `timeout` seconds is killed.
    public static func run(_ path: String, _ args: [String], stdin: [UInt8] = [], environment: [String: String]? = nil, timeout: Double) throws -> Result {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        for fd in [inPipe[1], outPipe[0], errPipe[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in [inPipe[0], outPipe[1], errPipe[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        let pid: pid_t
        do { pid = try spawn(path, args, &actions, &attr, environment) } catch {
            for fd in inPipe + outPipe + errPipe { close(fd) }
            throw error
        }
        for fd in [inPipe[0], outPipe[1], errPipe[1]] { close(fd) }

        let out = Drain(fd: outPipe[0]), err = Drain(fd: errPipe[0])
        out.start()
        err.start()
        let inWrite = inPipe[1]
        let writer = Thread {
            var offset = 0
            while offset < stdin.count {
                let n = stdin.withUnsafeBytes { write(inWrite, $0.baseAddress! + offset, stdin.count - offset) }
                if n <= 0 { break }
                offset += n
            }
            close(inWrite)
        }
        writer.start()

        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() > deadline {
                timedOut = true
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(2_000)  // polling the child with a deadline
        }
        let stdoutBytes = out.finish(), stderrBytes = err.finish()
        let signalled = status & 0x7F != 0 && status & 0x7F != 0x7F
        return Result(exitCode: signalled ? 128 + (status & 0x7F) : (status >> 8) & 0xFF, signal: signalled ? status & 0x7F : nil,
                      stdout: stdoutBytes, stderr: stderrBytes, timedOut: timedOut)
    }

    /// Reads a pipe to its end on a thread of its own.
    private final class Drain: @unchecked Sendable {
        let fd: Int32
        var bytes: [UInt8] = []
        let done = DispatchSemaphore(value: 0)

        init(fd: Int32) { self.fd = fd }

        func start() {
            Thread {
                var buf = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buf.withUnsafeMutableBytes { read(self.fd, $0.baseAddress, $0.count) }
                    if n > 0 { self.bytes.append(contentsOf: buf[0..<n]); continue }
                    if n < 0 && errno == EINTR { continue }
                    break
                }
                close(self.fd)
                self.done.signal()
            }.start()
        }

        /// Waits for the end of the pipe, but not forever: a grandchild that kept the pipe open
        /// must not hang the caller.
        func finish() -> [UInt8] {
            _ = done.wait(timeout: .now() + 5)
            return bytes
        }
    }
}
