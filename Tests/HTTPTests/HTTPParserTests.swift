@testable import HTTP
import Testing
import TestSupport

/// The HTTP/1.1 request reader: framing, pipelining, limits, the shapes request smuggling
/// uses, and the same answers however the bytes are split.
@Suite struct HTTPParserTests {
    /// What a parser made of some bytes, in a form that compares.
    static func summary(_ events: [HTTPRequestParser.Event]) -> [String] {
        events.map { e in
            switch e {
            case .request(let r): return "\(r.method) \(r.path) ? \(r.query) \(r.version) [\(r.headers.map { "\($0.name)=\($0.value)" }.joined(separator: "|"))] \(String(decoding: r.body, as: UTF8.self)) keepAlive=\(r.keepAlive)"
            case .expectContinue: return "100-continue"
            case .error(let e): return "error \(e.status)"
            }
        }
    }

    static func parse(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> [String] {
        var p = HTTPRequestParser(limits: limits)
        return summary(p.feed(Array(text.utf8)))
    }

    /// Fed one byte at a time, and in random splits: the same events as fed whole.
    static func splitsAgree(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> Bool {
        let bytes = Array(text.utf8)
        let whole = parse(text, limits: limits)
        var p = HTTPRequestParser(limits: limits)
        var oneByOne: [HTTPRequestParser.Event] = []
        for b in bytes { oneByOne += p.feed([b]) }
        var rng = SystemRandomNumberGenerator()
        var q = HTTPRequestParser(limits: limits)
        var random: [HTTPRequestParser.Event] = []
        var i = 0
        while i < bytes.count {
            let n = Int.random(in: 1...17, using: &rng)
            random += q.feed(bytes[i..<min(bytes.count, i + n)])
            i += n
        }
        return summary(oneByOne) == whole && summary(random) == whole
    }

    static let samples = [
        "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: h\r\nX-Amz-Date: 20261203T123600Z\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Type: application/x-amz-json-1.1\r\n\r\nhello",
        "PUT /bucket/key HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        "GET / HTTP/1.0\r\n\r\n",
        "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nPOST /3 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok",
        "\r\n\r\nGET /after-empty-lines HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http://127.0.0.1:8080/abs?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    ]

    @Test("requests read the same whole, byte by byte, and in random splits", arguments: samples.indices)
    func splits(_ k: Int) {
        #expect(Self.splitsAgree(Self.samples[k]))
        #expect(!Self.parse(Self.samples[k]).contains { $0.hasPrefix("error") }, "\(Self.parse(Self.samples[k]))")
    }

    @Test("what is read: method, path and query, headers as sent, bodies by length and by chunks, keep-alive, 100-continue, pipelining")
    func contents() {
        #expect(Self.parse(Self.samples[0]) == ["GET /a/b ? x=1&y=%20 HTTP/1.1 [Host=h|X-Amz-Date=20261203T123600Z]  keepAlive=true"])
        #expect(Self.parse(Self.samples[1]).first?.hasSuffix("hello keepAlive=true") == true)
        #expect(Self.parse(Self.samples[2]) == ["PUT /bucket/key ?  HTTP/1.1 [Host=h|Transfer-Encoding=chunked] hello world keepAlive=true"])
        #expect(Self.parse(Self.samples[3]).first == "100-continue")
        #expect(Self.parse(Self.samples[4]) == ["GET / ?  HTTP/1.0 []  keepAlive=false"])
        let three = Self.parse(Self.samples[5])
        #expect(three.count == 3 && three[0].hasPrefix("GET /1") && three[1].hasPrefix("GET /2") && three[1].hasSuffix("keepAlive=false") && three[2].hasPrefix("POST /3"))
        #expect(Self.parse(Self.samples[7]).first?.hasPrefix("GET /abs ? q=1") == true)
        // Header values lose surrounding white space, keep inner.
        #expect(Self.parse("GET / HTTP/1.1\r\nHost:   h  \r\nX-A:\ta  b\t\r\n\r\n") == ["GET / ?  HTTP/1.1 [Host=h|X-A=a  b]  keepAlive=true"])
    }

    @Test("smuggling shapes and malformed framing are refused, and nothing after them is read", arguments: [
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n", 400),
        ("GET / HTTP/1.1\nHost: h\n\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        ("GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET nopath HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{01}b\r\n\r\n", 400),
    ])
    func refused(_ text: String, _ status: Int) {
        var p = HTTPRequestParser()
        let events = Self.summary(p.feed(Array(text.utf8)))
        #expect(events.last == "error \(status)", "\(events)")
        #expect(p.failed)
        #expect(p.feed(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8)).isEmpty, "nothing is read after an error")
        #expect(Self.splitsAgree(text))
    }

    @Test("limits: a head over the limit is 431 (even before it ends), a body over it 413, too many headers 431")
    func limits() {
        var l = HTTPRequestParser.Limits()
        (l.maxHeadBytes, l.maxBodyBytes, l.maxHeaders) = (256, 64, 5)
        #expect(Self.parse("GET /" + String(repeating: "a", count: 300) + " HTTP/1.1\r\nHost: h\r\n\r\n", limits: l) == ["error 431"])
        #expect(Self.parse("GET /" + String(repeating: "a", count: 300), limits: l) == ["error 431"], "refused before the head ends")
        #expect(Self.parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n", limits: l) == ["error 413"])
        #expect(Self.parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n", limits: l) == ["error 413"])
        #expect(Self.parse("GET / HTTP/1.1\r\nHost: h\r\n" + (1...6).map { "X-\($0): v\r\n" }.joined() + "\r\n", limits: l) == ["error 431"])
        #expect(Self.parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", limits: l) == ["error 400"])
    }

    @Test("hostile bytes never trap: random and mutated input gives requests or an error, the same however split")
    func fuzz() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = ByteMutation.mutate(Array(Self.samples.randomElement(using: &rng)!.utf8), edits: 0...6, using: &rng)
            var whole = HTTPRequestParser()
            let a = Self.summary(whole.feed(bytes))
            var split = HTTPRequestParser()
            var b: [HTTPRequestParser.Event] = []
            for x in bytes { b += split.feed([x]) }
            #expect(a == Self.summary(b), "\(bytes)")
        }
    }

    @Test("responses: status line, headers without CR/LF, Content-Length")
    func responses() {
        let r = HTTPResponse(status: 403, headers: [("X-Amzn-ErrorType", "AccessDeniedException"), ("X-Evil", "a\r\nSet-Cookie: x")], body: Array("{}".utf8))
        #expect(String(decoding: r.bytes, as: UTF8.self) == "HTTP/1.1 403 Forbidden\r\nX-Amzn-ErrorType: AccessDeniedException\r\nX-Evil: aSet-Cookie: x\r\nContent-Length: 2\r\n\r\n{}")
        #expect(String(decoding: HTTPResponse.continueLine, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
    }
}
