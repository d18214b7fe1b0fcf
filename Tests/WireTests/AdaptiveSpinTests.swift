#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Wire

/// The event loop's spinning: only while the waits before it were short, never beyond the limit.
@Test func adaptiveSpinSpinsOnlyWhileItPays() {
    func look(_ s: inout AdaptiveSpin, _ now: Double) -> Bool { s.shouldSpin(now: now) }
    var spin = AdaptiveSpin(limit: 0.0002)
    // Back to back: every wait spins, up to the limit.
    #expect(look(&spin, 1.0) == true)
    #expect(look(&spin, 1.0001) == true)
    #expect(look(&spin, 1.0003) == false)  // this wait outlasted the limit: sleep now
    spin.arrived(now: 1.01)
    #expect(look(&spin, 2.0) == false)  // a miss: the next wait sleeps at once…
    spin.arrived(now: 2.00005)
    #expect(look(&spin, 3.0) == false)  // …and so does the one after a single short wait
    spin.arrived(now: 3.00005)
    #expect(look(&spin, 4.0) == true)  // two short waits in a row: spin again
    spin.arrived(now: 4.00001)
    #expect(look(&spin, 5.0) == true)  // and it keeps spinning while waits stay short
    // A request, then a slow fsync, alternating: never spins.
    var alternating = AdaptiveSpin(limit: 0.0002)
    var t = 10.0
    var spun = 0
    for k in 0..<20 {
        if alternating.shouldSpin(now: t) { spun += 1 }
        t += k % 2 == 0 ? 0.001 : 0.00005
        alternating.arrived(now: t)
    }
    #expect(spun == 1)  // only the first, before it knew
    var off = AdaptiveSpin(limit: 0)
    #expect(look(&off, 1) == false)
}

/// `poll` keeps to its timeout, spinning included, and does not spin when the timeout is zero.
@Test func adaptiveSpinPollKeepsToItsTimeout() {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    defer { close(fds[0]); close(fds[1]) }
    var watched = [pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)]
    // A limit far above the timeouts, so spinning past them could not hide in scheduling noise.
    var spin = AdaptiveSpin(limit: 0.2)
    var t0 = EventLoop.now()
    #expect(spin.poll(&watched, timeout: 0) == 0)
    let instant = EventLoop.now() - t0
    #expect(instant < 0.1, "\(instant)")  // no spin for a due timer
    t0 = EventLoop.now()
    #expect(spin.poll(&watched, timeout: 20) == 0)
    let waited = EventLoop.now() - t0
    #expect(waited >= 0.019 && waited < 0.1, "\(waited)")  // the spin stops at the timeout
    var b: UInt8 = 1
    #expect(write(fds[1], &b, 1) == 1)
    #expect(spin.poll(&watched, timeout: 1000) == 1)
}
