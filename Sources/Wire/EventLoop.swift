#if canImport(Glibc)
import Glibc
#endif
import CEpoll
import Synchronization

/// Something the loop watches: a file descriptor and what to do when it is ready.
public protocol EventHandler: AnyObject {
    var fd: Int32 { get }
    /// False to stop reading for a while (backpressure); the loop still reports hang-ups.
    var wantsRead: Bool { get }
    var wantsWrite: Bool { get }
    /// Data (or end of stream, or an error) is waiting.
    func readable(_ loop: EventLoop)
    /// The socket can take more output.
    func writable(_ loop: EventLoop)
    /// One unit of work the handler asked for with `markReady` (one request, for a connection).
    func runReady(_ loop: EventLoop)
}

extension EventHandler {
    public var wantsRead: Bool { true }
    public func runReady(_ loop: EventLoop) {}
}

/// A single-threaded event loop over `epoll(7)`, meant to run on a thread of its own.
///
/// Guarantees: handlers, timers and posted work all run on the loop's thread, one at a time, so
/// the state they touch needs no locks. `post` and `stop` are the only calls that are safe from
/// other threads; they wake the loop through a pipe. Timers use the monotonic clock.
///
/// Cost: a round costs what is ready, not what is open: descriptors are registered once and
/// their interest changes only when a handler's `wantsRead`/`wantsWrite` does (the loop checks
/// after each call into a handler; a handler that changes it from elsewhere calls `update`).
/// So thousands of idle connections cost nothing per call.
///
/// Fairness: work a handler queues with `markReady` runs one unit per handler per round, in the
/// order handlers asked, so one connection's backlog delays another's answer by at most one
/// unit of work (one request).
public final class EventLoop: @unchecked Sendable {
    private var handlers: [Int32: EventHandler] = [:]
    /// The interest each descriptor is registered with (read, write).
    private var interest: [Int32: (read: Bool, write: Bool)] = [:]
    private let epfd: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let posted = Mutex<[@Sendable () -> Void]>([])
    private let stopping = Atomic<Bool>(false)
    private var timers = TimerHeap()
    private var nextTimerID: UInt64 = 0
    private var cancelledTimers = Set<UInt64>()
    /// Handlers with queued work, in the order they asked; each at most once.
    private var ready: [EventHandler] = []
    private var readyFDs = Set<Int32>()
    private var events = [crml_epoll_ready](repeating: crml_epoll_ready(), count: 256)
    /// Looks for input without sleeping for a moment while input comes back to back.
    private var spin = AdaptiveSpin()

    public init() {
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        for fd in fds { Socket.setNonBlocking(fd) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        epfd = crml_epoll_create()
        precondition(epfd >= 0, "epoll_create1: \(String(cString: strerror(errno)))")
        _ = crml_epoll_watch(epfd, wakeRead, 1, 0, 1)
    }

    deinit {
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
        Glibc.close(epfd)
    }

    /// Seconds on the monotonic clock.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    // MARK: Loop-thread API

    public func register(_ handler: EventHandler) {
        let fd = handler.fd
        handlers[fd] = handler
        let want = (handler.wantsRead, handler.wantsWrite)
        interest[fd] = want
        _ = crml_epoll_watch(epfd, fd, want.0 ? 1 : 0, want.1 ? 1 : 0, 1)
    }

    /// Stops watching `fd` (call before closing it).
    public func unregister(_ fd: Int32) {
        guard handlers.removeValue(forKey: fd) != nil else { return }
        interest[fd] = nil
        readyFDs.remove(fd)
        _ = crml_epoll_forget(epfd, fd)
    }

    /// Registers a change of `handler`'s `wantsRead`/`wantsWrite` made outside the loop's calls
    /// into it (output queued by another handler's work, say). Cheap when nothing changed.
    public func update(_ handler: EventHandler) {
        let fd = handler.fd
        guard handlers[fd] === handler, let had = interest[fd] else { return }
        let want = (read: handler.wantsRead, write: handler.wantsWrite)
        guard want != had else { return }
        interest[fd] = want
        _ = crml_epoll_watch(epfd, fd, want.read ? 1 : 0, want.write ? 1 : 0, 0)
    }

    /// Asks for `handler.runReady` in the next round (once, however often it is asked).
    public func markReady(_ handler: EventHandler) {
        guard handlers[handler.fd] === handler, readyFDs.insert(handler.fd).inserted else { return }
        ready.append(handler)
    }

    public var handlerCount: Int { handlers.count }

    /// Runs `work` on the loop after `seconds`; returns an id for `cancel`.
    @discardableResult
    public func after(_ seconds: Double, _ work: @escaping () -> Void) -> UInt64 {
        nextTimerID += 1
        timers.push(TimerEntry(deadline: EventLoop.now() + seconds, id: nextTimerID, work: work))
        return nextTimerID
    }

    public func cancel(_ timer: UInt64) { cancelledTimers.insert(timer) }

    // MARK: Any-thread API

    /// Runs `work` on the loop thread soon.
    public func post(_ work: @escaping @Sendable () -> Void) {
        posted.withLock { $0.append(work) }
        wake()
    }

    public func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        wake()
    }

    private func wake() {
        var b: UInt8 = 1
        _ = Glibc.write(wakeWrite, &b, 1)
    }

    /// Runs until `stop()`.
    public func run() {
        while !stopping.load(ordering: .sequentiallyConsistent) {
            var timeout: Int32 = 1000
            if !ready.isEmpty {
                timeout = 0
            } else if let next = timers.peek?.deadline {
                timeout = Int32(max(0, min(1000, ((next - EventLoop.now()) * 1000).rounded(.up))))
            }
            // While requests come back to back, look again without sleeping: a request that
            // arrives then need not wake this thread (slow across CPUs on virtual machines).
            let n = events.withUnsafeMutableBufferPointer { buf in
                spin.wait(timeout: timeout) { t in crml_epoll_wait(epfd, buf.baseAddress, Int32(buf.count), t) }
            }
            if n > 0 {
                for i in 0..<Int(n) {
                    let e = events[i]
                    if e.fd == wakeRead { drainWake(); continue }
                    guard let h = handlers[e.fd] else { continue }  // removed by an earlier one this round
                    if e.writable != 0 { h.writable(self) }
                    if e.readable != 0, handlers[e.fd] === h { h.readable(self) }
                    update(h)
                }
            }
            runReady()
            runPosted()
            runTimers()
        }
        runPosted()
    }

    /// One unit for each handler that was ready when the round began.
    private func runReady() {
        guard !ready.isEmpty else { return }
        let round = ready
        ready.removeAll(keepingCapacity: true)
        for h in round { readyFDs.remove(h.fd) }
        for h in round where handlers[h.fd] === h {
            h.runReady(self)
            update(h)
        }
    }

    private func drainWake() {
        var buf = [UInt8](repeating: 0, count: 256)
        while Glibc.read(wakeRead, &buf, buf.count) > 0 {}
    }

    private func runPosted() {
        let work = posted.withLock { w -> [@Sendable () -> Void] in
            let all = w
            w.removeAll()
            return all
        }
        for w in work { w() }
    }

    private func runTimers() {
        let now = EventLoop.now()
        while let t = timers.peek, t.deadline <= now {
            _ = timers.pop()
            if cancelledTimers.remove(t.id) == nil { t.work() }
        }
    }
}

struct TimerEntry {
    var deadline: Double
    var id: UInt64
    var work: () -> Void
}

/// A binary min-heap of timers by deadline.
struct TimerHeap {
    private var items: [TimerEntry] = []

    var peek: TimerEntry? { items.first }

    mutating func push(_ t: TimerEntry) {
        items.append(t)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent].deadline <= items[i].deadline { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> TimerEntry? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && items[l].deadline < items[m].deadline { m = l }
            if r < items.count && items[r].deadline < items[m].deadline { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}
