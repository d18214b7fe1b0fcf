import Digest
import Testing

// FIPS 180-4 examples (NIST CSRC "SHA-256" example values) and the long-message vectors.
@Test(arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
])
func sha256Vectors(message: String, digest: String) {
    #expect(Hex.encode(SHA256.hash(message)) == digest)
}

@Test func sha256OneMillionAs() {
    var h = SHA256()
    let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
    for _ in 0..<1000 { h.update(chunk) }
    #expect(Hex.encode(h.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
}

/// Incremental updates of every split give the one-shot digest (block-boundary handling).
@Test func sha256IncrementalMatchesOneShot() {
    let message = Array((0..<200).map { UInt8($0 & 0xFF) })
    let expected = SHA256.hash(message)
    for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 199, 200] {
        var h = SHA256()
        h.update(Array(message[..<split]))
        h.update(Array(message[split...]))
        #expect(h.finalize() == expected, "split at \(split)")
    }
    // Byte at a time.
    var h = SHA256()
    for b in message { h.update([b]) }
    #expect(h.finalize() == expected)
}

// RFC 4231 test cases 1-7 (case 5 truncates the output to 128 bits).
@Test(arguments: [
    ("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    ("4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", String(repeating: "dd", count: 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    ("0102030405060708090a0b0c0d0e0f10111213141516171819", String(repeating: "cd", count: 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    ("0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e", "a3b6167473100ee06e0c796c2955552b"),
    (String(repeating: "aa", count: 131), "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (String(repeating: "aa", count: 131),
     "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
])
func hmacRFC4231(key: String, data: String, mac: String) throws {
    let out = HMACSHA256.authenticate(try #require(Hex.decode(data)), key: try #require(Hex.decode(key)))
    #expect(Hex.encode(out).hasPrefix(mac))
    #expect(mac.count == 64 || mac.count == 32)
}

@Test func constantTimeEquality() {
    #expect(HMACSHA256.constantTimeEquals([1, 2, 3], [1, 2, 3]))
    #expect(!HMACSHA256.constantTimeEquals([1, 2, 3], [1, 2, 4]))
    #expect(!HMACSHA256.constantTimeEquals([1, 2, 3], [1, 2]))
}

// CRC-32C check value (RFC 3720 / iSCSI) and the iSCSI test patterns of RFC 3720 B.4.
@Test(arguments: [
    ([UInt8](Array("123456789".utf8)), UInt32(0xE306_9283)),
    ([UInt8](repeating: 0, count: 32), UInt32(0x8A91_36AA)),
    ([UInt8](repeating: 0xFF, count: 32), UInt32(0x62A8_AB43)),
    ((0..<32).map { UInt8($0) }, UInt32(0x46DD_794E)),
    ((0..<32).map { UInt8(31 - $0) }, UInt32(0x113F_DB5C)),
])
func crc32cVectors(bytes: [UInt8], crc: UInt32) {
    #expect(CRC32C.checksum(bytes) == crc)
}

@Test func hexRoundTrip() {
    #expect(Hex.encode([0, 1, 0xAB, 0xFF]) == "0001abff")
    #expect(Hex.decode("0001ABff") == [0, 1, 0xAB, 0xFF])
    #expect(Hex.decode("abc") == nil)
    #expect(Hex.decode("zz") == nil)
}

// RFC 1321, appendix A.5 (the MD5 test suite).
@Test(arguments: [
    ("", "d41d8cd98f00b204e9800998ecf8427e"),
    ("a", "0cc175b9c0f1b6a831c399e269772661"),
    ("abc", "900150983cd24fb0d6963f7d28e17f72"),
    ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
    ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
    ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
    ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"),
])
func md5Vectors(message: String, digest: String) {
    #expect(Hex.encode(MD5.hash(Array(message.utf8))) == digest)
}

// FIPS 180-4 / NIST examples for SHA-1.
@Test(arguments: [
    ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
])
func sha1Vectors(message: String, digest: String) {
    #expect(Hex.encode(SHA1.hash(Array(message.utf8))) == digest)
}

/// The CRC catalogue's check values ("123456789") and S3's base64 form of "hello world"'s CRC-32
/// (what botocore sent as `x-amz-checksum-crc32`).
@Test func crc32CheckValues() {
    #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    #expect(CRC32.checksum([UInt8]()) == 0)
    #expect(CRC32.checksum(Array("hello world".utf8)).bigEndianBytes == [0x0D, 0x4A, 0x11, 0x85])  // DUoRhQ==
    // Feeding in two parts with the first part's CRC as seed gives the whole's.
    let whole = Array("The quick brown fox jumps over the lazy dog".utf8)
    #expect(CRC32.checksum(whole[10...], seed: CRC32.checksum(whole[..<10])) == CRC32.checksum(whole))
    #expect(CRC32.checksum(whole) == 0x414F_A339)
}

// RFC 2202, HMAC-SHA1 test cases 1, 2 and 6 (a key longer than a block).
@Test func hmacSHA1RFC2202() {
    #expect(Hex.encode(HMACSHA1.authenticate(Array("Hi There".utf8), key: [UInt8](repeating: 0x0b, count: 20))) == "b617318655057264e28bc0b6fb378c8ef146be00")
    #expect(Hex.encode(HMACSHA1.authenticate(Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
    #expect(Hex.encode(HMACSHA1.authenticate(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8), key: [UInt8](repeating: 0xaa, count: 80)))
        == "aa4ae5e15272d00e95705637ce8a3b55ed402112")
}
