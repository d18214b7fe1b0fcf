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

    /// Like the node: one server thread polls every connection and spins as its event loop does;
    /// one client thread drives every connection and spins as the node benchmark's client does.
    static func rawTCPFromOneThread(connections: Int, seconds: Double, spinLimit: Double) -> Figures {
        let name = "raw loopback TCP (100-byte line)"
        guard let (listener, port) = try? Socket.listen(host: "127.0.0.1", port: 0) else {
            return Figures(name: name, connections: connections, calls: 0, seconds: 1, latencies: [])
        }
        let finished = Atomic<Bool>(false)
        let server = Thread {
            var conns: [Int32] = []
            var spin = AdaptiveSpin(limit: spinLimit)
            var buf = [UInt8](repeating: 0, count: 65536)
            while !finished.load(ordering: .relaxed) {
                var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)] + conns.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                guard spin.poll(&fds, timeout: 100) > 0 else { continue }
                if fds[0].revents != 0, let accepted = try? Socket.accept(listener) { conns.append(accepted.fd) }
                var gone: Set<Int32> = []
                for k in 1..<fds.count where fds[k].revents != 0 {
                    let fd = fds[k].fd
                    guard let r = try? buf.withUnsafeMutableBytes({ try Socket.read(fd, into: $0) }) else { gone.insert(fd); continue }
                    switch r {
                    case .bytes(let n): _ = try? buf.withUnsafeBytes { try Socket.write(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    case .closed: gone.insert(fd)
                    case .wouldBlock: break
                    }
                }
                for fd in gone { Socket.close(fd) }
                conns.removeAll { gone.contains($0) }
            }
            for fd in conns { Socket.close(fd) }
            Socket.close(listener)
        }
        server.start()
        defer { finished.store(true, ordering: .relaxed) }

        var fds: [pollfd] = []
        for _ in 0..<connections {
            guard let fd = try? Socket.connect(host: "127.0.0.1", port: port, timeout: 5) else { break }
            fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
        }
        defer { for p in fds where p.fd >= 0 { Socket.close(p.fd) } }
        var sent = [Double](repeating: 0, count: fds.count)
        var received = [Int](repeating: 0, count: fds.count)
        var latencies: [Double] = []
        latencies.reserveCapacity(1_000_000)
        var buf = [UInt8](repeating: 0, count: 65536)
        func send(_ k: Int) {
            sent[k] = PollLoop.now()
            _ = try? rawLine.withUnsafeBytes { try Socket.write(fds[k].fd, $0) }
        }
        let start = PollLoop.now()
        for k in fds.indices { send(k) }
        var open = fds.count
        var last = start
        var spin = AdaptiveSpin(limit: spinLimit)
        while open > 0 {
            guard spin.poll(&fds, timeout: 5000) > 0 else { break }  // the echo server stopped answering: report what was measured
            for k in fds.indices where fds[k].revents != 0 && fds[k].fd >= 0 {
                let r = try? buf.withUnsafeMutableBytes { try Socket.read(fds[k].fd, into: $0) }
                if r == .wouldBlock { continue }
                guard case .bytes(let n)? = r else {
                    // The echo server dropped it: stop polling it (poll skips negative descriptors).
                    Socket.close(fds[k].fd)
                    fds[k].fd = -1
                    open -= 1
                    continue
                }
                received[k] += n
                guard received[k] >= rawLine.count else { continue }
                received[k] -= rawLine.count
                last = PollLoop.now()
                latencies.append(last - sent[k])
                if last - start < seconds {
                    send(k)
                } else {
                    Socket.close(fds[k].fd)
                    fds[k].fd = -1
                    open -= 1
                }
            }
        }
        return Figures(name: name, connections: connections, calls: latencies.count, seconds: last - start, latencies: latencies.sorted())
    }

    /// Round trips of a 100-byte line to an in-process echo server on a thread per connection,
    /// from a client thread per connection (`--threads`).
    static func rawTCPWithThreads(connections: Int, seconds: Double) -> Figures {
        guard let (listener, port) = try? Socket.listen(host: "127.0.0.1", port: 0) else {
            return Figures(name: "raw loopback TCP", connections: connections, calls: 0, seconds: 1, latencies: [])
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
        let start = PollLoop.now()
        for _ in 0..<connections {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let fd = try? Socket.connect(host: "127.0.0.1", port: port, timeout: 5) else { return }
                defer { Socket.close(fd) }
                var buf = [UInt8](repeating: 0, count: 4096)
                var mine: [Double] = []
                while PollLoop.now() - start < seconds {
                    let t0 = PollLoop.now()
                    _ = try? line.withUnsafeBytes { try Socket.write(fd, $0) }
                    var got = 0
                    while got < line.count {
                        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                        _ = poll(&p, 1, 1000)
                        guard let r = try? buf.withUnsafeMutableBytes({ try Socket.read(fd, into: $0) }) else { return }
                        if case .bytes(let n) = r { got += n } else if case .closed = r { return }
                    }
                    mine.append(PollLoop.now() - t0)
                }
                samples.withLock { $0 += mine }
            }
        }
        group.wait()
        let elapsed = PollLoop.now() - start
        return Figures(name: "raw loopback TCP (100-byte line)", connections: connections, calls: samples.withLock { $0.count }, seconds: elapsed,
                       latencies: samples.withLock { $0 }.sorted())
    }
}
