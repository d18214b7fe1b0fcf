/// Writes one JSON object member by member, for hot paths that know their members in advance
/// (a reply's envelope, an audit record): no dictionary is built and no keys are sorted.
///
/// Guarantee: when the members are given in ascending key order (Swift's string order, which
/// debug builds check), the bytes equal `JSONWriter.bytes` of the same object, so readers and
/// tests cannot tell the two writers apart. A `nil` value leaves its member out.
public struct JSONObjectWriter {
    private var out: [UInt8]
    private var members = 0
    #if DEBUG
    private var lastKey: String?
    #endif

    public init(reservingCapacity capacity: Int = 256) {
        out = []
        out.reserveCapacity(capacity)
        out.append(UInt8(ascii: "{"))
    }

    private mutating func key(_ key: String) {
        #if DEBUG
        if let lastKey { precondition(lastKey < key, "JSONObjectWriter: member \(key) given after \(lastKey)") }
        lastKey = key
        #endif
        if members > 0 { out.append(UInt8(ascii: ",")) }
        members += 1
        JSONWriter.writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
    }

    public mutating func member(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        JSONWriter.writeString(value, into: &out)
    }

    public mutating func member(_ name: String, _ value: Double) {
        key(name)
        JSONWriter.writeNumber(value, into: &out)
    }

    public mutating func member(_ name: String, _ value: Bool) {
        key(name)
        out.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func member(_ name: String, _ value: JSON?) {
        guard let value else { return }
        key(name)
        JSONWriter.write(value, into: &out)
    }

    /// A member whose value is already JSON text (as `JSONWriter.bytes` writes it).
    public mutating func member(_ name: String, rawJSON: [UInt8]) {
        key(name)
        out.append(contentsOf: rawJSON)
    }

    /// A member whose value is an array of objects whose members are all strings, each object's
    /// members given in key order (as `member` wants them).
    public mutating func member(_ name: String, stringObjects: [[(key: String, value: String)]]) {
        key(name)
        out.append(UInt8(ascii: "["))
        for (k, object) in stringObjects.enumerated() {
            if k > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            for (n, m) in object.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(m.key, into: &out)
                out.append(UInt8(ascii: ":"))
                JSONWriter.writeString(m.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
    }

    /// The object's bytes, closing brace included.
    public consuming func finish() -> [UInt8] {
        out.append(UInt8(ascii: "}"))
        return out
    }
}
