import Testing
import Wire

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
