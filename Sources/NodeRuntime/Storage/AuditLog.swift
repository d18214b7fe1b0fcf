#if canImport(Glibc)
import Glibc
#endif
import AccountNode
import JSON

/// The audit trail on disk: `dir/audit.log`, one JSON `AuditEvent` per line.
///
/// Lines are appended as events happen and are not fsync'd on each call: a `kill -9` loses none
/// (they are in the OS), a power cut may lose the last second, as CloudTrail's own delivery lag
/// would. When the file holds four times what the node keeps, it is rewritten with the newest.
public final class AuditLog {
    public let path: String
    private var fd: Int32
    private let capacity: Int
    private var lines: Int

    public init(dataDir: String, capacity: Int) throws(FileError) {
        path = dataDir + "/audit.log"
        self.capacity = capacity
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open", path) }
        lines = 0
    }

    deinit { close(fd) }

    /// The newest `capacity` events on disk, oldest first (a torn last line is skipped).
    public func load() throws -> [AuditEvent] {
        let bytes = try FileIO.read(path)
        var events: [AuditEvent] = []
        var start = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            if let j = try? JSONParser.parse(Array(bytes[start..<i])), let e = AuditEvent(json: j) { events.append(e) }
            start = i + 1
        }
        lines = events.count
        return Array(events.suffix(capacity))
    }

    public func append(_ encoded: [[UInt8]]) throws(FileError) {
        guard !encoded.isEmpty else { return }
        var buf = [UInt8]()
        for e in encoded { buf += e; buf.append(0x0A) }
        try FileIO.writeAll(fd, buf, path: path)
        lines += encoded.count
    }

    public var needsCompaction: Bool { lines > capacity * 4 }

    /// Rewrites the file with just `events` (the node's current trail).
    public func compact(_ events: [[UInt8]]) throws(FileError) {
        var buf = [UInt8]()
        for e in events { buf += e; buf.append(0x0A) }
        try FileIO.writeDurably(path, buf)
        close(fd)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open", path) }
        lines = events.count
    }

    public func sync() { fsync(fd) }
}
