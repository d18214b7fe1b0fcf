/// The simulated world's clock and agenda: events run in order of time, and events at the same
/// time in the order they were scheduled. Nothing else decides what happens next, so the same
/// seed gives the same order of events.
struct EventQueue {
    private struct Entry {
        var time: Double
        var seq: UInt64
        var run: () -> Void
    }

    private var heap: [Entry] = []
    private var seq: UInt64 = 0
    /// Simulated seconds since the world began.
    private(set) var now: Double = 0
    /// Events run so far.
    private(set) var count = 0

    var isEmpty: Bool { heap.isEmpty }
    var nextTime: Double? { heap.first?.time }

    mutating func schedule(at time: Double, _ run: @escaping () -> Void) {
        seq += 1
        heap.append(Entry(time: max(time, now), seq: seq, run: run))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if less(heap[p], heap[i]) { break }
            heap.swapAt(p, i)
            i = p
        }
    }

    /// Moves the clock to `time` (no event before it may be left).
    mutating func advance(to time: Double) { now = max(now, time) }

    /// Forgets every event (the world is over; events hold references to it).
    mutating func removeAll() { heap.removeAll() }

    /// Takes the next event, moving the clock to its time.
    mutating func pop() -> (() -> Void)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && less(heap[l], heap[m]) { m = l }
            if r < heap.count && less(heap[r], heap[m]) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        now = top.time
        count += 1
        return top.run
    }

    private func less(_ a: Entry, _ b: Entry) -> Bool { a.time < b.time || (a.time == b.time && a.seq < b.seq) }
}
