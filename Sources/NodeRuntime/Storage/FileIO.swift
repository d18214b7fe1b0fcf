#if canImport(Glibc)
import Glibc
#endif

/// A failed file-system call, with the path and errno text.
public struct FileError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var path: String
    public var code: Int32
    public var description: String { "\(operation) \(path): \(reason)" }
    /// The errno text (no path: for answers that must not show the host's layout).
    public var reason: String { String(cString: strerror(code)) }

    init(_ operation: String, _ path: String, _ code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }
}

/// Small POSIX file helpers for the storage layer: whole-file reads, durable writes (temp file,
/// fsync, rename, fsync of the directory), appends, directory listings, an exclusive lock.
public enum FileIO {
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func makeDirectory(_ path: String) throws(FileError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw FileError("mkdir", prefix) }
        }
    }

    public static func read(_ path: String) throws(FileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError("open", path) }
        defer { close(fd) }
        var out = [UInt8]()
        var st = stat()
        let size = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
        out.reserveCapacity(size)
        // A buffer the size of the file (one byte more, to see the end), up to 1 MiB per read.
        var buf = [UInt8](repeating: 0, count: min(max(size + 1, 4096), 1 << 20))
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw FileError("read", path) }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(FileError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 { if errno == EINTR { continue }; throw FileError("write", path) }
            offset += n
        }
    }

    /// Writes a whole file so that a crash leaves either the old file or the new one. A write
    /// that fails (a full disk) removes its temporary file and leaves the old one.
    public static func writeDurably(_ path: String, _ bytes: [UInt8]) throws(FileError) {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open", tmp) }
        do throws(FileError) {
            try writeAll(fd, bytes, path: tmp)
            guard fsync(fd) == 0 else { throw FileError("fsync", tmp) }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            let e = FileError("rename", tmp)
            unlink(tmp)
            throw e
        }
        try syncDirectory(of: path)
    }

    public static func syncDirectory(of path: String) throws(FileError) {
        let dir = directory(of: path)
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError("open", dir) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileError("fsync", dir) }
    }

    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func list(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func remove(_ path: String) { unlink(path) }

    public static func size(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    /// Takes an exclusive lock on `path` for the life of the process, so two nodes never share
    /// a data directory. Throws if another process still holds it after `wait` seconds. (A lock
    /// just let go can linger for a moment: a process that is exiting, or a child another thread
    /// is starting, holds it until it is gone or has exec'd.)
    public static func lockExclusively(_ path: String, wait: Double = 1) throws(FileError) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open", path) }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let deadline = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 + wait
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let held = errno == EWOULDBLOCK
            clock_gettime(CLOCK_MONOTONIC, &ts)
            guard held, Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 < deadline else {
                let e = FileError("lock (is another node using this data directory?)", path)
                close(fd)
                throw e
            }
            usleep(10_000)  // polling the lock until the deadline above
        }
        return fd
    }

    /// Gives the heap's free pages back to the system (glibc's `malloc_trim`, which Swift's Glibc
    /// module does not declare: looked up once by name; a no-op where it is missing).
    public static func returnFreedMemory() {
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }
}
