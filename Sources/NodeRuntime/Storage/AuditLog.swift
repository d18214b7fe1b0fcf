#if canImport(Glibc)
import Glibc
#endif
import AccountNode
import JSON

/// The audit trail on disk: `dir/audit.log`, one JSON `AuditEvent` per line.
///
/// Lines are appended as events happen and are not fsync'd on each call: a `kill -9` loses none
/// (they are in the OS), a power cut may lose the last second, as CloudTrail's own delivery lag
/// would. The node rewrites it with the newest events (`compact`) once it holds four times what
/// the node keeps (`AccountNodeRuntime` counts the lines, starting from what `load` found).
public final class AuditLog {
    public let path: String
    private var fd: Int32
    private let capacity: Int

    public init(dataDir: String, capacity: Int) throws(FileError) {
        path = dataDir + "/audit.log"
        self.capacity = capacity
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open", path) }
    }

    deinit { close(fd) }

    /// The newest `capacity` events on disk, oldest first (a torn last line is skipped), and how
    /// many lines the file holds. Only those lines are parsed: the file may hold four times as
    /// many before it is compacted, and restart time is what this costs.
    public func load() throws -> (events: [AuditEvent], lines: Int) {
        let bytes = try FileIO.read(path)
        var ends: [Int] = []
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var at = 0
            while at < raw.count, let hit = memchr(base + at, 0x0A, raw.count - at) {
                let end = base.distance(to: UnsafeRawPointer(hit))
                ends.append(end)
                at = end + 1
            }
        }
        let first = max(0, ends.count - capacity)
        var events: [AuditEvent] = []
        events.reserveCapacity(ends.count - first)
        var start = first == 0 ? 0 : ends[first - 1] + 1
        for end in ends[first...] {
            if let j = try? JSONParser.parse(Array(bytes[start..<end])), let e = AuditEvent(json: j) { events.append(e) }
            start = end + 1
        }
        return (events, ends.count)
    }

    /// Appends lines; on failure (a full disk) the file is cut back to its size before, so a
    /// retry never leaves half a line in front of a whole one.
    public func append(_ encoded: [[UInt8]]) throws(FileError) {
        guard !encoded.isEmpty else { return }
        var buf = [UInt8]()
        for e in encoded { buf += e; buf.append(0x0A) }
        let before = lseek(fd, 0, SEEK_END)
        do throws(FileError) { try FileIO.writeAll(fd, buf, path: path) } catch {
            if before >= 0 { _ = ftruncate(fd, before) }
            throw error
        }
    }

    /// Rewrites the file with just `events` (the node's current trail).
    public func compact(_ events: [[UInt8]]) throws(FileError) {
        var buf = [UInt8]()
        for e in events { buf += e; buf.append(0x0A) }
        try FileIO.writeDurably(path, buf)
        close(fd)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open", path) }
    }

    public func sync() { fsync(fd) }
}
