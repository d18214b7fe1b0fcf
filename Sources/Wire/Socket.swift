#if canImport(Glibc)
import Glibc
#endif

/// A failed socket call: which call, the errno, and its text.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var code: Int32
    public var description: String { "\(operation): \(String(cString: strerror(code))) (errno \(code))" }

    init(_ operation: String, _ code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }

    public init(operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }
}

/// Thin, typed wrappers over POSIX TCP sockets. Every socket is non-blocking; "would block" is
/// a value, not an error, so callers can poll. Writes use `MSG_NOSIGNAL` so a closed peer never
/// raises SIGPIPE.
public enum Socket {
    public enum ReadResult: Equatable {
        case bytes(Int)
        case wouldBlock
        case closed
    }

    /// Resolves `host` (a dotted IPv4 address or a name) to an IPv4 address.
    static func address(_ host: String, _ port: UInt16) throws(SocketError) -> sockaddr_in {
        try lookUp(host == "localhost" || host.isEmpty ? "127.0.0.1" : host, port)
    }

    /// `host:port` as an address, through the system's resolver unless `host` is an IPv4 address.
    static func lookUp(_ h: String, _ port: UInt16) throws(SocketError) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        if inet_pton(AF_INET, h, &addr.sin_addr) == 1 { return addr }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(h, nil, &hints, &res) == 0, let r = res, let sa = r.pointee.ai_addr else {
            throw SocketError("resolve \(h)", EINVAL)
        }
        defer { freeaddrinfo(res) }
        sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { addr.sin_addr = $0.pointee.sin_addr }
        return addr
    }

    /// Whether `host` is an IPv4 address, which needs no name lookup.
    public static func isNumeric(_ host: String) -> Bool {
        var a = in_addr()
        return inet_pton(AF_INET, host, &a) == 1
    }

    /// `host`'s IPv4 address, dotted. A name lookup blocks (up to the resolver's time-outs):
    /// call it off any event loop.
    public static func resolve(_ host: String) throws(SocketError) -> String {
        var addr = try lookUp(host, 0).sin_addr
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &addr, &text, socklen_t(INET_ADDRSTRLEN)) != nil else { throw SocketError("resolve \(host)") }
        return String(cString: text)
    }

    /// A listening socket on `host:port` (port 0 picks a free port); returns it and the port.
    public static func listen(host: String, port: UInt16, backlog: Int32 = 1024) throws(SocketError) -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = try address(host, port)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { let e = SocketError("bind \(host):\(port)"); close(fd); throw e }
        guard Glibc.listen(fd, backlog) == 0 else { let e = SocketError("listen"); close(fd); throw e }
        return (fd, localPort(fd))
    }

    public static func localPort(_ fd: Int32) -> UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Accepts one pending connection (non-blocking, TCP_NODELAY); `nil` when none is waiting.
    public static func accept(_ listener: Int32) throws(SocketError) -> (fd: Int32, peer: String)? {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.accept(listener, $0, &len)
            }
        }
        if fd < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED { return nil }
            throw SocketError("accept")
        }
        setNonBlocking(fd)
        setNoDelay(fd)
        setKeepalive(fd)
        var buf = [CChar](repeating: 0, count: 64)
        inet_ntop(AF_INET, &addr.sin_addr, &buf, socklen_t(buf.count))
        let ip = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (fd, ip)
    }

    /// Connects to `host:port`, waiting at most `timeout` seconds; the socket is left
    /// non-blocking with TCP_NODELAY.
    public static func connect(host: String, port: UInt16, timeout: Double) throws(SocketError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        var addr: sockaddr_in
        do { addr = try address(host, port) } catch { close(fd); throw error }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 {
            guard errno == EINPROGRESS else { let e = SocketError("connect \(host):\(port)"); close(fd); throw e }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = poll(&p, 1, Int32(max(1, timeout * 1000)))
            guard n == 1 else { close(fd); throw SocketError("connect \(host):\(port)", n == 0 ? ETIMEDOUT : errno) }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            guard err == 0 else { close(fd); throw SocketError("connect \(host):\(port)", err) }
        }
        setNoDelay(fd)
        return fd
    }

    /// Starts a non-blocking connect to `host:port` and returns at once: the socket, and
    /// whether it is already connected. If not, wait until it is writable, then ask
    /// `connectError` how it went.
    public static func startConnect(host: String, port: UInt16) throws(SocketError) -> (fd: Int32, connected: Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        var addr: sockaddr_in
        do { addr = try address(host, port) } catch { close(fd); throw error }
        setNoDelay(fd)
        setKeepalive(fd)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r == 0 { return (fd, true) }
        guard errno == EINPROGRESS else { let e = SocketError("connect \(host):\(port)"); close(fd); throw e }
        return (fd, false)
    }

    /// The outcome of a non-blocking connect once its socket is writable: 0, or an errno.
    public static func connectError(_ fd: Int32) -> Int32 {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 else { return errno }
        return err
    }

    /// Non-blocking and close-on-exec (children never inherit our sockets).
    public static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// TCP keepalives: a connection whose peer vanished (a host gone, a cable cut: no reset
    /// ever comes) is found dead after `idle` seconds of silence and `count` unanswered probes
    /// `interval` seconds apart, and closed by the kernel (the event loop then sees it).
    public static func setKeepalive(_ fd: Int32, idle: Int32 = 10, interval: Int32 = 5, count: Int32 = 3) {
        var one: Int32 = 1
        var (i, n, c) = (idle, interval, count)
        let size = socklen_t(MemoryLayout<Int32>.size)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, size)
        // TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT (linux/tcp.h): Glibc's module leaves them out.
        setsockopt(fd, Int32(IPPROTO_TCP), 4, &i, size)
        setsockopt(fd, Int32(IPPROTO_TCP), 5, &n, size)
        setsockopt(fd, Int32(IPPROTO_TCP), 6, &c, size)
    }

    public static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads into `buffer`; never blocks.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> ReadResult {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 { return .bytes(n) }
            if n == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case ECONNRESET, EPIPE, ETIMEDOUT: return .closed
            default: throw SocketError("recv")
            }
        }
    }

    /// Writes as much of `bytes` as the socket takes now; returns how many were written (0 when
    /// it would block). A reset peer is reported as `.closed` through the thrown error's code.
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        while true {
            let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            default: throw SocketError("send")
            }
        }
    }

    /// Writes all of `bytes` to a non-blocking socket, waiting in poll while it is full, until
    /// `deadline` (`EventLoop.now()` seconds); ETIMEDOUT if the peer stops reading.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: Double) throws(SocketError) {
        var offset = 0
        while offset < bytes.count {
            let start = offset
            let written: Result<Int, SocketError> = bytes.withUnsafeBytes { raw in
                Result { () throws(SocketError) in try write(fd, UnsafeRawBufferPointer(rebasing: raw[start...])) }
            }
            let n = try written.get()
            offset += n
            if n == 0 {
                let wait = deadline - EventLoop.now()
                guard wait > 0 else { throw SocketError("send (the peer stopped reading)", ETIMEDOUT) }
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, Int32(wait * 1000) + 1)
            }
        }
    }

    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// This process's open-file limit (the soft one, which is what `accept` and `open` meet).
    public static func fileLimit() -> Int {
        var lim = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lim) == 0 else { return 1024 }
        return lim.rlim_cur == rlim_t.max ? Int(Int32.max) : Int(clamping: lim.rlim_cur)
    }

    /// Raises this process's open-file limit to its hard limit (a node may hold thousands of
    /// connections).
    public static func raiseFileLimit() {
        var lim = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        if getrlimit(resource, &lim) == 0, lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max
            setrlimit(resource, &lim)
        }
    }
}
