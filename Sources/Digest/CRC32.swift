/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib and S3's
/// `x-amz-checksum-crc32` compute it. `CRC32.checksum("123456789") == 0xCBF43926`.
public enum CRC32 {
    static let table = ReflectedCRC32.table(0xEDB8_8320)

    public static func checksum<C: Collection<UInt8>>(_ bytes: C, seed: UInt32 = 0) -> UInt32 {
        ReflectedCRC32.checksum(table, bytes, seed: seed)
    }
}

/// The table-driven, reflected CRC-32 that CRC-32 and CRC-32C both are (they differ in their
/// polynomial only).
enum ReflectedCRC32 {
    static func table(_ polynomial: UInt32) -> [UInt32] {
        (0..<256).map { i -> UInt32 in
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ polynomial : c >> 1 }
            return c
        }
    }

    /// Over raw memory, without per-byte bounds checks.
    static func checksum(_ table: [UInt32], _ bytes: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            var c = ~seed
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
            return ~c
        }
    }

    static func checksum<C: Collection<UInt8>>(_ table: [UInt32], _ bytes: C, seed: UInt32) -> UInt32 {
        if let c = bytes.withContiguousStorageIfAvailable({ checksum(table, UnsafeRawBufferPointer($0), seed: seed) }) { return c }
        var c = ~seed
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return ~c
    }
}

extension UInt32 {
    /// Big-endian bytes (how S3 checksums are base64-encoded).
    public var bigEndianBytes: [UInt8] { [UInt8(self >> 24), UInt8((self >> 16) & 0xFF), UInt8((self >> 8) & 0xFF), UInt8(self & 0xFF)] }
}
