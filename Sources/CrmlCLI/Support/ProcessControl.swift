#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Processes

/// Starting and signalling node processes.
enum ProcessControl {
    /// This executable (`/proc/self/exe`).
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// How to start a node: this very executable as `crml node …`. It is the same code as
    /// `crml-node`, and always the same build as the launcher (a `crml-node` found beside it
    /// could be older).
    /// `CRML_NODE_PREFIX` (words separated by spaces) goes in front, so nodes can run under a
    /// tool that execs them in the same process (`valgrind --tool=callgrind`, `perf record`).
    static func nodeCommand() -> (path: String, leadingArguments: [String]) {
        let prefix = (ProcessInfo.processInfo.environment["CRML_NODE_PREFIX"] ?? "").split(separator: " ").map(String.init)
        guard let tool = prefix.first else { return (executable, ["node"]) }
        return (onPath(tool), Array(prefix.dropFirst()) + [executable, "node"])
    }

    /// `name` as found on PATH (as a shell finds it); a name with a slash as given.
    static func onPath(_ name: String) -> String {
        guard !name.contains("/") else { return name }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? name
    }

    /// Starts a node process that outlives this command (see `Spawn.detached`).
    static func spawnDetached(_ path: String, _ args: [String], logFile: String) throws -> pid_t {
        do { return try Spawn.detached(path, args, logFile: logFile) } catch {
            throw CommandFailure(code: .failed, message: "\(error)")
        }
    }

    static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 { return false }
        return state(pid).map { $0 != "Z" } ?? true  // a zombie (exited, not yet reaped) is not alive
    }

    /// "R", "S", "T" (stopped)… from /proc, or nil if gone.
    static func state(_ pid: pid_t) -> Character? {
        statFields(pid)?.first?.first
    }

    /// CPU time a process has used so far, in seconds, in user space and in the kernel; nil if it
    /// is gone.
    static func cpuSeconds(_ pid: pid_t) -> (user: Double, system: Double)? {
        // Fields 14 and 15 of /proc/PID/stat.
        guard let fields = statFields(pid), fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (user / tick, system / tick)
    }

    /// A process's resident memory and the part of it no other process shares (private clean
    /// and dirty pages), in bytes, from /proc/PID/smaps_rollup; nil if it is gone.
    static func memory(_ pid: pid_t) -> (resident: Int, private: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else { return nil }
        var fields: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Int(parts[1]) { fields[String(parts[0].dropLast())] = kb * 1024 }
        }
        guard let rss = fields["Rss"] else { return nil }
        return (rss, (fields["Private_Clean"] ?? 0) + (fields["Private_Dirty"] ?? 0))
    }

    /// The fields of /proc/PID/stat after the command name (which may hold spaces and
    /// parentheses, so they are counted from its last closing parenthesis): state first.
    private static func statFields(_ pid: pid_t) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// Reaps a child of this process if it has exited (so it does not linger as a zombie).
    static func reap(_ pid: pid_t) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    /// Sends SIGTERM, waits up to `grace` seconds, then SIGKILL. Returns true if it had to kill.
    @discardableResult
    static func terminate(_ pid: pid_t, grace: Double = 10) -> Bool {
        guard isAlive(pid) else { return false }
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            reap(pid)
            if !isAlive(pid) { return false }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        reap(pid)
        return true
    }
}
