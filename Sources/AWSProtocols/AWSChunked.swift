import Digest
import SigV4

/// S3's `aws-chunked` content encoding, as current SDKs send a streamed `PutObject`: chunks
/// `SIZE[;chunk-signature=SIG]\r\nDATA\r\n`, a zero-size chunk, then trailing headers (the
/// checksum named by `x-amz-trailer`, and `x-amz-trailer-signature` when signed).
///
/// Guarantees: sizes are hex and bounded by the bytes present; every chunk signature, when the
/// payload is signed, chains from the request's signature as SigV4's streaming variant
/// specifies; a malformed body is an error, never a trap.
enum AWSChunked {
    struct Decoded: Equatable {
        var data: [UInt8]
        /// Trailing headers, names lower-cased.
        var trailers: [String: String]
    }

    /// What signed chunks are checked against: the signing key, the request's date and scope,
    /// and its own signature (the first chunk's "previous" signature).
    struct ChunkSigning {
        var signingKey: [UInt8]
        var amzDate: String
        var scope: String
        var seedSignature: String
    }

    static func decode(_ body: [UInt8], signing: ChunkSigning?) -> Result<Decoded, AWSWireError> {
        func bad(_ why: String) -> Result<Decoded, AWSWireError> {
            .failure(AWSWireError("IncompleteBody", "The aws-chunked body is malformed: \(why)", status: 400))
        }
        var i = 0
        var data: [UInt8] = []
        var previous = signing?.seedSignature ?? ""
        func line() -> String? {
            var j = i
            while j + 1 < body.count, !(body[j] == 0x0D && body[j + 1] == 0x0A) { j += 1 }
            guard j + 1 < body.count, j - i <= 4096 else { return nil }
            let s = String(decoding: body[i..<j], as: UTF8.self)
            i = j + 2
            return s
        }
        while true {
            guard let header = line() else { return bad("a chunk header is not ended by CRLF") }
            let parts = header.split(separator: ";", maxSplits: 1)
            guard let sizeText = parts.first, sizeText.count <= 8, let size = Int(sizeText, radix: 16), size >= 0 else { return bad("chunk size '\(header.prefix(40))' is not hex") }
            guard size <= body.count - i else { return bad("a chunk of \(size) bytes runs past the body's end") }
            let chunk = body[i..<(i + size)]
            if let signing {
                guard parts.count == 2, parts[1].hasPrefix("chunk-signature=") else { return bad("a signed payload's chunk has no chunk-signature") }
                let given = String(parts[1].dropFirst("chunk-signature=".count)).lowercased()
                let toSign = ["AWS4-HMAC-SHA256-PAYLOAD", signing.amzDate, signing.scope, previous, SigV4.emptySHA256, Hex.encode(SHA256.hash(chunk))].joined(separator: "\n")
                let expected = Hex.encode(HMACSHA256.authenticate(Array(toSign.utf8), key: signing.signingKey))
                guard HMACSHA256.constantTimeEquals(Array(expected.utf8), Array(given.utf8)) else {
                    return .failure(AWSWireError("SignatureDoesNotMatch", "The chunk signature of the chunk at byte \(i) does not match the signature we calculated", status: 403))
                }
                previous = expected
            }
            data += chunk
            i += size
            if size == 0 { break }
            guard i + 1 < body.count, body[i] == 0x0D, body[i + 1] == 0x0A else { return bad("chunk data is not followed by CRLF") }
            i += 2
        }
        var trailers: [String: String] = [:]
        var trailerLines: [String] = []
        while i < body.count {
            guard let l = line() else { return bad("a trailing header is not ended by CRLF") }
            if l.isEmpty { break }
            let kv = l.split(separator: ":", maxSplits: 1)
            guard kv.count == 2 else { return bad("trailing header '\(l.prefix(60))' has no ':'") }
            let name = kv[0].lowercased()
            trailers[name] = String(kv[1]).trimmingCharacters(in: " ")
            if name != "x-amz-trailer-signature" { trailerLines.append("\(name):\(trailers[name]!)\n") }
        }
        if let signing, !trailerLines.isEmpty || trailers["x-amz-trailer-signature"] != nil {
            // Signed trailers must carry their signature: otherwise they could be changed.
            guard let given = trailers["x-amz-trailer-signature"] else {
                return .failure(AWSWireError("SignatureDoesNotMatch", "Signed trailing headers need x-amz-trailer-signature", status: 403))
            }
            let toSign = ["AWS4-HMAC-SHA256-TRAILER", signing.amzDate, signing.scope, previous, Hex.encode(SHA256.hash(Array(trailerLines.joined().utf8)))].joined(separator: "\n")
            let expected = Hex.encode(HMACSHA256.authenticate(Array(toSign.utf8), key: signing.signingKey))
            guard HMACSHA256.constantTimeEquals(Array(expected.utf8), Array(given.lowercased().utf8)) else {
                return .failure(AWSWireError("SignatureDoesNotMatch", "The trailer signature does not match the signature we calculated", status: 403))
            }
        }
        return .success(Decoded(data: data, trailers: trailers))
    }
}
