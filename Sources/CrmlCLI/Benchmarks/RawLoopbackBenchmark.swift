#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Wire

/// The baseline beside the node's figures: a 100-byte line echoed over loopback TCP by an
/// in-process server, measured the way the node's calls are (one line in flight per connection).
extension NodeBenchmark {
    static let rawLine = [UInt8](repeating: UInt8(ascii: "x"), count: 99) + [0x0A]

    static let rawName = "raw loopback TCP (100-byte line)"

    /// Like the node: one server thread polls every connection and spins as its event loop does;
    /// one client thread drives every connection as the node benchmark's client does.
    static func rawTCPFromOneThread(connections: Int, seconds: Double) -> Figures {
        guard let (listener, port) = try? Socket.listen(host: "127.0.0.1", port: 0) else {
            return Figures(name: rawName, connections: connections, calls: 0, seconds: 1, latencies: [])
        }
        let finished = Atomic<Bool>(false)
        let server = Thread {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            var spin = AdaptiveSpin()
            var buf = [UInt8](repeating: 0, count: 65536)
            while !finished.load(ordering: .relaxed) {
                guard spin.poll(&fds, timeout: 100) > 0 else { continue }
                for k in 1..<fds.count where fds[k].revents != 0 && fds[k].fd >= 0 {
                    let fd = fds[k].fd
                    switch try? buf.withUnsafeMutableBytes({ try Socket.read(fd, into: $0) }) {
                    case .bytes(let n)?: _ = try? buf.withUnsafeBytes { try Socket.write(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    case .wouldBlock?: break
                    case .closed?, nil:
                        Socket.close(fd)
                        fds[k].fd = -1
                    }
                }
                if fds[0].revents != 0, let accepted = try? Socket.accept(listener) {
                    fds.append(pollfd(fd: accepted.fd, events: Int16(POLLIN), revents: 0))
                }
            }
            for p in fds where p.fd >= 0 { Socket.close(p.fd) }
        }
        server.start()
        defer { finished.store(true, ordering: .relaxed) }

        var fds: [pollfd] = []
        for _ in 0..<connections {
            guard let fd = try? Socket.connect(host: "127.0.0.1", port: port, timeout: 5) else { break }
            fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
        }
        let sockets = fds.map(\.fd)
        defer { for fd in sockets { Socket.close(fd) } }
        var received = [Int](repeating: 0, count: fds.count)
        var buf = [UInt8](repeating: 0, count: 65536)
        let driven = try? driveFromOneThread(&fds, seconds: seconds, name: rawName, send: { k in
            _ = try rawLine.withUnsafeBytes { try Socket.write(sockets[k], $0) }
        }, answered: { k in
            switch try? buf.withUnsafeMutableBytes({ try Socket.read(sockets[k], into: $0) }) {
            case .bytes(let n)?:
                received[k] += n
                defer { received[k] %= rawLine.count }
                return received[k] / rawLine.count
            case .wouldBlock?: return 0
            case .closed?, nil: return nil  // the echo server dropped it
            }
        })
        return Figures(name: rawName, connections: connections, calls: driven?.latencies.count ?? 0, seconds: driven?.seconds ?? 1,
                       latencies: driven?.latencies.sorted() ?? [])
    }

    /// Round trips of a 100-byte line to an in-process echo server on a thread per connection,
    /// from a client thread per connection (`--threads`).
    static func rawTCPWithThreads(connections: Int, seconds: Double) -> Figures {
        guard let (listener, port) = try? Socket.listen(host: "127.0.0.1", port: 0) else {
            return Figures(name: rawName, connections: connections, calls: 0, seconds: 1, latencies: [])
        }
        Thread.detachNewThread {
            var served = 0
            while served < connections {
                var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, 1000)
                guard let (fd, _) = try? Socket.accept(listener) else { continue }
                served += 1
                Thread.detachNewThread {
                    var buf = [UInt8](repeating: 0, count: 4096)
                    while true {
                        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                        _ = poll(&p, 1, 1000)
                        guard let r = try? buf.withUnsafeMutableBytes({ try Socket.read(fd, into: $0) }) else { break }
                        if case .closed = r { break }
                        if case .bytes(let n) = r { _ = try? buf.withUnsafeBytes { try Socket.write(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n])) } }
                    }
                    Socket.close(fd)
                }
            }
            Socket.close(listener)
        }
        let line = rawLine
        let samples = Mutex<[Double]>([])
        let group = DispatchGroup()
        let start = EventLoop.now()
        for _ in 0..<connections {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let fd = try? Socket.connect(host: "127.0.0.1", port: port, timeout: 5) else { return }
                defer { Socket.close(fd) }
                var buf = [UInt8](repeating: 0, count: 4096)
                var mine: [Double] = []
                while EventLoop.now() - start < seconds {
                    let t0 = EventLoop.now()
                    _ = try? line.withUnsafeBytes { try Socket.write(fd, $0) }
                    var got = 0
                    while got < line.count {
                        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                        _ = poll(&p, 1, 1000)
                        guard let r = try? buf.withUnsafeMutableBytes({ try Socket.read(fd, into: $0) }) else { return }
                        if case .bytes(let n) = r { got += n } else if case .closed = r { return }
                    }
                    mine.append(EventLoop.now() - t0)
                }
                samples.withLock { $0 += mine }
            }
        }
        group.wait()
        let elapsed = EventLoop.now() - start
        return Figures(name: rawName, connections: connections, calls: samples.withLock { $0.count }, seconds: elapsed,
                       latencies: samples.withLock { $0 }.sorted())
    }
}

/// The floor beside the node's durable writes: appending a 100-byte record to a file in the
/// node's data directory's file system and `fdatasync`ing it, one at a time, as a write that
/// waits for its own sync would.
extension NodeBenchmark {
    static func fsyncFloor(directory: String, seconds: Double) throws -> Figures {
        let path = directory + "/fsync-floor-\(getpid())"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CommandFailure(code: .failed, message: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd); unlink(path) }
        var latencies: [Double] = []
        let start = EventLoop.now()
        while EventLoop.now() - start < seconds {
            let t0 = EventLoop.now()
            let written = rawLine.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard written == rawLine.count, fdatasync(fd) == 0 else { throw CommandFailure(code: .failed, message: "write or fdatasync failed: \(String(cString: strerror(errno)))") }
            latencies.append(EventLoop.now() - t0)
        }
        return Figures(name: "fdatasync of a 100-byte append", connections: 1, calls: latencies.count, seconds: EventLoop.now() - start, latencies: latencies.sorted())
    }
}
