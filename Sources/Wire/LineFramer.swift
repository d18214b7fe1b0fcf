/// Splits a byte stream into `\n`-terminated lines, with a hard cap on line length.
///
/// Guarantees (the ones `NIOCore`'s decoders get right): it only ever yields whole lines; a line
/// longer than `maxLineLength` (not counting the `\n`) is reported once as `.tooLong` and the
/// framer refuses further input, since the stream can no longer be trusted to be in step; bytes
/// left over at end of stream are an error (`.truncated`), never a silent line. Memory is
/// bounded by `maxLineLength` plus one read.
public struct LineFramer: Sendable {
    public enum Event: Equatable, Sendable {
        case line([UInt8])
        case tooLong(limit: Int)
    }

    public let maxLineLength: Int
    private var buffer: [UInt8] = []
    /// How far `buffer` has been scanned for a newline already.
    private var scanned = 0
    public private(set) var failed = false

    public init(maxLineLength: Int = 4 * 1024 * 1024) {
        self.maxLineLength = maxLineLength
    }

    /// Bytes received but not yet part of a complete line.
    public var pendingByteCount: Int { buffer.count }

    /// Feeds bytes and returns every event they complete, in order.
    public mutating func feed<C: Collection<UInt8>>(_ bytes: C) -> [Event] {
        guard !failed else { return [] }
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        var start = 0
        var i = scanned
        while i < buffer.count {
            if buffer[i] == 0x0A {
                if i - start > maxLineLength { return events + [overflow()] }
                events.append(.line(Array(buffer[start..<i])))
                start = i + 1
            }
            i += 1
        }
        if start > 0 { buffer.removeFirst(start) }
        scanned = buffer.count
        if buffer.count > maxLineLength { events.append(overflow()) }
        return events
    }

    /// The stream can no longer be trusted to be in step: report once and refuse the rest.
    private mutating func overflow() -> Event {
        failed = true
        buffer.removeAll()
        scanned = 0
        return .tooLong(limit: maxLineLength)
    }

    /// Call at end of stream: true when a partial line was left over (the peer stopped mid-line).
    public var endsMidLine: Bool { !buffer.isEmpty }
}
