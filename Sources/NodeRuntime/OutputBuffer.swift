import Wire

/// Bytes waiting for a non-blocking socket: appended whole, written as far as the socket takes
/// them, the rest kept for the next writable event. Memory is given back once it drains (or
/// once a megabyte has been written from the front).
struct OutputBuffer {
    private var bytes: [UInt8] = []
    private var offset = 0

    /// Bytes not yet written.
    var pending: Int { bytes.count - offset }
    var isEmpty: Bool { offset >= bytes.count }

    mutating func append(_ more: [UInt8]) { bytes += more }

    mutating func removeAll() {
        bytes.removeAll()
        offset = 0
    }

    /// Writes until the socket would block or nothing is left.
    mutating func write(to fd: Int32) throws(SocketError) {
        while offset < bytes.count {
            let start = offset
            let written: Result<Int, SocketError> = bytes.withUnsafeBytes { raw in
                Result { () throws(SocketError) in try Socket.write(fd, UnsafeRawBufferPointer(rebasing: raw[start...])) }
            }
            let n = try written.get()
            if n == 0 { break }
            offset += n
        }
        if offset == bytes.count {
            bytes.removeAll(keepingCapacity: bytes.count < 1 << 20)
            offset = 0
        } else if offset > 1 << 20 {
            bytes.removeFirst(offset)
            offset = 0
        }
    }
}
