#if canImport(Glibc)
import Glibc
#endif

/// Whether a thread about to wait for input should first look for it without sleeping.
///
/// On virtual machines, waking a sleeping thread on another CPU can cost more than answering a
/// request, so a thread that looks again for a moment (spins) gets back-to-back input sooner.
/// Spinning burns CPU, so it is adaptive: a wait spins only if the two waits before it ended
/// within `limit`, that is, only while spinning keeps paying off. Traffic with long gaps stops
/// spinning after one miss, traffic that alternates short and long waits (a request, then its
/// fsync) never spins, and an idle thread sleeps.
///
/// While it spins, the thread yields its CPU to any other thread ready to run there, so several
/// nodes on a small machine do not take CPU from each other's work (measured with
/// `crml bench cross-account`: two nodes and lookalike runs on two cores are as fast as without
/// spinning).
///
/// Guarantee: at most `limit` of spinning per wait; none after a wait that outlasted `limit`,
/// until two waits in a row end within it. `limit` 0 means never spin.
public struct AdaptiveSpin: Sendable {
    public let limit: Double
    /// Waits in a row that ended within `limit`.
    private var shortWaits: Int
    private var waitingSince: Double? = nil

    /// The limit for event loops and load generators: `CRML_SPIN_US` microseconds (at most
    /// 10,000), 200 when it is not set, 0 to turn spinning off.
    public static let configuredLimit: Double = {
        guard let text = getenv("CRML_SPIN_US") else { return 200e-6 }
        guard let us = Double(String(cString: text)), us > 0 else { return 0 }
        return min(us, 10_000) / 1e6
    }()

    public init(limit: Double = AdaptiveSpin.configuredLimit) {
        self.limit = limit
        shortWaits = 2
    }

    /// Call before each look for input; `now` is `EventLoop.now()`. True: look without sleeping.
    mutating func shouldSpin(now: Double) -> Bool {
        guard limit > 0 else { return false }
        if waitingSince == nil { waitingSince = now }
        return shortWaits >= 2 && now - waitingSince! < limit
    }

    /// Waits for input with `look`, which waits up to the milliseconds it is given (0: just
    /// look) and returns how many things are ready (negative: an error). Spins first, looking
    /// without sleeping, when that pays (`shouldSpin`), then sleeps for what is left of
    /// `timeout` (negative: no limit); records an arrival. A zero timeout never spins.
    public mutating func wait(timeout: Int32, _ look: (Int32) -> Int32) -> Int32 {
        guard limit > 0 else { return look(timeout) }
        var ready: Int32 = 0
        let start = EventLoop.now()
        let deadline = timeout < 0 ? Double.infinity : start + Double(timeout) / 1000
        var now = start
        while ready == 0 && now < deadline && shouldSpin(now: now) {
            ready = look(0)
            // Let any other thread that is ready to run on this CPU have it: spinning should only
            // use time nobody else wants (several nodes share a small machine).
            if ready == 0 { sched_yield() }
            now = EventLoop.now()
        }
        if ready == 0 {
            let left = timeout < 0 ? timeout : Int32(max(0, ((deadline - now) * 1000).rounded(.up)))
            ready = look(left)
        }
        if ready > 0 { arrived(now: EventLoop.now()) }
        return ready
    }

    /// `poll(2)` on `fds` for up to `timeout` milliseconds, as `wait` does it.
    public mutating func poll(_ fds: inout [pollfd], timeout: Int32) -> Int32 {
        fds.withUnsafeMutableBufferPointer { buf in
            wait(timeout: timeout) { t in Glibc.poll(buf.baseAddress, nfds_t(buf.count), t) }
        }
    }

    /// Call when input arrived: decides whether the next wait spins.
    mutating func arrived(now: Double) {
        guard limit > 0, let since = waitingSince else { return }
        shortWaits = now - since <= limit ? min(shortWaits + 1, 2) : 0
        waitingSince = nil
    }
}
