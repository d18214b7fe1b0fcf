/// Random edits of bytes, for feeding parsers input they were not written for: each edit
/// replaces, removes or inserts one byte (never leaving the input empty).
public enum ByteMutation {
    public static func mutate(_ input: [UInt8], edits: ClosedRange<Int>, insertable: ClosedRange<UInt8> = 0...255,
                              using rng: inout some RandomNumberGenerator) -> [UInt8] {
        var bytes = input.isEmpty ? [0x41] : input
        for _ in 0..<Int.random(in: edits, using: &rng) {
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes.remove(at: i)
            default: bytes.insert(UInt8.random(in: insertable, using: &rng), at: i)
            }
            if bytes.isEmpty { bytes = [0x41] }
        }
        return bytes
    }
}
