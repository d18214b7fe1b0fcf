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
    /// many lines the file holds. Restart time is what this costs, so only the file's tail is
    /// read (the file may hold four times as many lines before it is compacted), and its lines
    /// are parsed on two threads. When the tail does not reach the start of the file, the count
    /// of lines before it is estimated from their size (it decides only when to compact).
    public func load() throws -> (events: [AuditEvent], lines: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError("open", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError("stat", path) }
        let size = Int(st.st_size)
        // Read back from the end, a chunk at a time, until the tail holds `capacity` whole lines.
        var tail: [UInt8] = []
        var offset = size
        var newlines = 0
        var chunk = 1 << 20
        while offset > 0 && newlines <= capacity {
            let n = min(chunk, offset)
            offset -= n
            var buf = [UInt8](repeating: 0, count: n)
            var got = 0
            while got < n {
                let r = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, n - got, off_t(offset + got)) }
                if r < 0 && errno == EINTR { continue }
                guard r > 0 else { throw FileError("read", path) }
                got += r
            }
            newlines += AuditLog.lineEnds(buf).count
            tail = buf + tail
            chunk = min(chunk * 2, 16 << 20)
        }
        // A line cut at the tail's start (offset > 0) is not whole.
        let ends = AuditLog.lineEnds(tail)
        let usable = offset > 0 ? Array(ends.dropFirst()) : ends
        let first = max(0, usable.count - capacity)
        let starts = usable.indices.map { k in k == 0 ? (offset > 0 ? ends[0] + 1 : 0) : usable[k - 1] + 1 }
        let wanted = Array(first..<usable.count)
        // Two halves on two threads: parsing is most of a restart's work.
        let half = wanted.count / 2
        let parse = { (range: ArraySlice<Int>) -> [AuditEvent] in
            range.compactMap { k in (try? JSONParser.parse(Array(tail[starts[k]..<usable[k]]))).flatMap(AuditEvent.init(json:)) }
        }
        let shared = UnsafeTransfer(parse)
        let older = BackgroundResult { shared.value(wanted[..<half]) }
        let newer = parse(wanted[half...])
        let events = try older.value() + newer
        var lines = usable.count
        if offset > 0, !usable.isEmpty {
            let perLine = Double(tail.count - starts[0]) / Double(usable.count)
            lines += Int((Double(offset + starts[0]) / perLine).rounded())
        }
        return (events, lines)
    }

    /// The offsets of the newlines in `bytes`.
    static func lineEnds(_ bytes: [UInt8]) -> [Int] {
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
        return ends
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
