#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Something the loop watches: a file descriptor and what to do when it is ready.
public protocol PollHandler: AnyObject {
    var fd: Int32 { get }
    /// False to stop reading for a while (backpressure); the loop still notices hang-ups.
    var wantsRead: Bool { get }
    var wantsWrite: Bool { get }
    /// Data (or EOF) is waiting.
    func readable(_ loop: PollLoop)
    /// The socket can take more output.
    func writable(_ loop: PollLoop)
}

extension PollHandler {
    public var wantsRead: Bool { true }
}

/// A single-threaded event loop over `poll(2)`, meant to run on a thread of its own.
///
/// Guarantees: handlers, timers and posted work all run on the loop's thread, one at a time, so
/// the state they touch needs no locks. `post` and `stop` are the only calls that are safe from
/// other threads; they wake the loop through a pipe. Timers use the monotonic clock.
public final class PollLoop: @unchecked Sendable {
    private var handlers: [Int32: PollHandler] = [:]
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let posted = Mutex<[@Sendable () -> Void]>([])
    private let stopping = Atomic<Bool>(false)
    private var timers = TimerHeap()
    private var nextTimerID: UInt64 = 0
    private var cancelledTimers = Set<UInt64>()
    /// Looks for input without sleeping for a moment while input comes back to back.
    private var spin = AdaptiveSpin()

    public init() {
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        for fd in fds { Socket.setNonBlocking(fd) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    /// Seconds on the monotonic clock.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    // MARK: Loop-thread API

    public func register(_ handler: PollHandler) { handlers[handler.fd] = handler }

    public func unregister(_ fd: Int32) { handlers[fd] = nil }

    public var handlerCount: Int { handlers.count }

    /// Runs `work` on the loop after `seconds`; returns an id for `cancel`.
    @discardableResult
    public func after(_ seconds: Double, _ work: @escaping () -> Void) -> UInt64 {
        nextTimerID += 1
        timers.push(TimerEntry(deadline: PollLoop.now() + seconds, id: nextTimerID, work: work))
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
        var fds: [pollfd] = []
        var order: [PollHandler] = []
        while !stopping.load(ordering: .sequentiallyConsistent) {
            fds.removeAll(keepingCapacity: true)
            order.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            for h in handlers.values {
                var ev: Int16 = h.wantsRead ? Int16(POLLIN) : 0
                if h.wantsWrite { ev |= Int16(POLLOUT) }
                fds.append(pollfd(fd: h.fd, events: ev, revents: 0))
                order.append(h)
            }
            var timeout: Int32 = 1000
            if let next = timers.peek?.deadline {
                timeout = Int32(max(0, min(1000, ((next - PollLoop.now()) * 1000).rounded(.up))))
            }
            // While requests come back to back, look again without sleeping: a request that
            // arrives then need not wake this thread (slow across CPUs on virtual machines).
            let n = spin.poll(&fds, timeout: timeout)
            if n < 0 && errno != EINTR { continue }
            if n > 0 {
                if fds[0].revents != 0 { drainWake() }
                for i in 1..<fds.count where fds[i].revents != 0 {
                    let h = order[i - 1]
                    // The handler may have been removed by an earlier one in this round.
                    guard handlers[h.fd] === h else { continue }
                    let r = fds[i].revents
                    if r & Int16(POLLOUT) != 0 { h.writable(self) }
                    if r & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0, handlers[h.fd] === h { h.readable(self) }
                }
            }
            runPosted()
            runTimers()
        }
        runPosted()
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
        let now = PollLoop.now()
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
