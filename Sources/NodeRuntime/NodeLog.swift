#if canImport(Glibc)
import Glibc
#endif

/// The node's own messages: lines to stderr (the node's log file) or stdout, written with
/// `write(2)` and never an error. A node whose log disk is full keeps serving; Foundation's
/// `FileHandle.write` would trap instead.
public enum Log {
    /// One line to stderr.
    public static func write(_ line: String) { emit(2, line) }

    /// One line to stdout (the `READY` line the launcher reads).
    public static func stdout(_ line: String) { emit(1, line) }

    private static func emit(_ fd: Int32, _ line: String) {
        var bytes = Array(line.utf8)
        if bytes.last != 0x0A { bytes.append(0x0A) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
