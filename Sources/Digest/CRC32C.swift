/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of write-ahead-log
/// records. Table-driven, one byte at a time; `CRC32C.checksum("123456789") == 0xE3069283`.
public enum CRC32C {
    static let table = ReflectedCRC32.table(0x82F6_3B78)

    public static func checksum<C: Collection<UInt8>>(_ bytes: C, seed: UInt32 = 0) -> UInt32 {
        ReflectedCRC32.checksum(table, bytes, seed: seed)
    }

    /// The same over raw memory, without per-byte bounds checks (the write-ahead log's hot path).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        ReflectedCRC32.checksum(table, bytes, seed: seed)
    }

    public static func checksum(_ text: String) -> UInt32 { checksum(Array(text.utf8)) }
}
