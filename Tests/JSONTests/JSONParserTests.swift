import Randomness
import Testing
@testable import JSON

// Cases in the style of nst/JSONTestSuite: y_ must parse, n_ must be rejected with an error.

@Test(arguments: [
    ("{}", JSON.object([:])),
    ("[]", JSON.array([])),
    ("  [1, 2.5, -3e2, 0, -0.0]  ", [1, 2.5, -300, 0, 0] as JSON),
    (#"{"a":{"b":[true,false,null]}}"#, ["a": ["b": [true, false, nil]]] as JSON),
    (#""\u00e9\ud83d\ude00\n\t\"\\\/""#, JSON.string("é😀\n\t\"\\/")),
    (#""héllo ✓ 😀""#, JSON.string("héllo ✓ 😀")),
    ("123456789012", JSON.number(123456789012)),
    ("1E+2", JSON.number(100)),
    ("\"\"", JSON.string("")),
    ("null", JSON.null),
])
func acceptsValidJSON(text: String, expected: JSON) throws {
    #expect(try JSONParser.parse(text) == expected)
}

@Test(arguments: [
    ("", "empty document"),
    ("   ", "empty document"),
    ("[1,]", "expected a value"),
    ("{\"a\":1,}", "expected a string key"),
    ("[1 2]", "expected ',' or ']'"),
    ("{\"a\" 1}", "expected ':'"),
    ("{\"a\":1 \"b\":2}", "expected ',' or '}'"),
    ("[01]", "leading zero"),
    ("[1.]", "digit after '.'"),
    ("[1e]", "exponent"),
    ("[-]", "expected a digit"),
    ("[.5]", "expected a value"),
    ("[+1]", "expected a value"),
    ("[NaN]", "expected a value"),
    ("[Infinity]", "expected a value"),
    ("[1e999]", "out of range"),
    ("[tru]", "invalid literal"),
    ("[nul]", "invalid literal"),
    ("\"abc", "unterminated string"),
    ("\"a\tb\"", "control character"),
    ("\"\\x\"", "invalid escape"),
    ("\"\\u12zz\"", "hex digit"),
    ("\"\\u12\"", "truncated"),
    ("\"\\ud800\"", "lone high surrogate"),
    ("\"\\udc00\"", "lone low surrogate"),
    ("\"\\ud800\\u0041\"", "invalid low surrogate"),
    ("[1] x", "unexpected content after"),
    ("{\"a\":1,\"a\":2}", "duplicate key"),
    ("[", "expected a value"),
    ("{", "expected a string key"),
    ("{\"a\":", "expected a value"),
    ("]", "unexpected ']'"),
    ("'single'", "expected a value"),
    ("[1,2", "expected ',' or ']'"),
])
func rejectsInvalidJSON(text: String, reasonFragment: String) {
    do {
        let v = try JSONParser.parse(text)
        Issue.record("accepted \(text.debugDescription) as \(v)")
    } catch {
        #expect(error.reason.contains(reasonFragment), "\(text.debugDescription): \(error)")
    }
}

@Test(arguments: [
    [0x22, 0xFF, 0x22] as [UInt8],  // invalid byte
    [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
    [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong 3-byte
    [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8 encoded surrogate
    [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
    [0x22, 0xE2, 0x82, 0x22],  // truncated sequence
    [0x22, 0x80, 0x22],  // lone continuation byte
])
func rejectsInvalidUTF8(bytes: [UInt8]) {
    #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
}

@Test func reportsLineAndColumn() {
    do {
        _ = try JSONParser.parse("{\n  \"a\": 1,\n  \"b\": x\n}")
        Issue.record("accepted invalid JSON")
    } catch {
        #expect(error.line == 3)
        #expect(error.column == 8)
    }
}

@Test func deepNestingIsAnErrorNotACrash() {
    let depth = 100_000
    let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    do {
        _ = try JSONParser.parse(text)
        Issue.record("accepted 100,000 levels of nesting")
    } catch {
        #expect(error.reason.contains("nesting deeper than 512"))
    }
    let objects = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
    #expect(throws: JSONParseError.self) { try JSONParser.parse(objects) }
}

@Test func nestingUpToTheLimitParses() throws {
    let text = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
    _ = try JSONParser.parse(text)
    let over = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
    #expect(throws: JSONParseError.self) { try JSONParser.parse(over) }
}

@Test func aDuplicateKeyIsReportedAtItsOwnQuote() {
    for (text, column) in [("{\"a\":1, \"a\":2}", 9), ("{\"x\":{\"b\":[1],\"b\":{}}}", 15)] {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.reason.hasPrefix("duplicate key"), "\(text): \(error)")
            #expect(error.line == 1 && error.column == column, "\(text): \(error)")
        }
    }
}

@Test func duplicateKeysCanBeAllowed() throws {
    let v = try JSONParser(allowDuplicateKeys: true).parse(Array(#"{"a":1,"a":2}"#.utf8))
    #expect(v == ["a": 2])
}

@Test func recordsSpansOfShallowContainers() throws {
    let text = "{\n \"Statement\": [\n  {\"Sid\": \"a\"},\n  {\"Sid\": \"b\"}\n ]\n}"
    let (_, spans) = try JSONParser(spanDepth: 2).parseWithSpans(Array(text.utf8))
    #expect(spans[[]] == JSONSpan(start: .init(line: 1, column: 1), end: .init(line: 6, column: 2)))
    #expect(spans[[.key("Statement")]]?.start == .init(line: 2, column: 15))
    #expect(spans[[.key("Statement"), .index(0)]] == JSONSpan(start: .init(line: 3, column: 3), end: .init(line: 3, column: 15)))
    #expect(spans[[.key("Statement"), .index(1)]]?.start == .init(line: 4, column: 3))
    #expect(spans.count == 4)
}

@Test func writerIsDeterministicAndRoundTrips() throws {
    let v: JSON = ["b": [1, 2.5, "x\n\u{1}\"\\é"], "a": nil, "c": ["z": true, "y": false], "n": -12, "f": 1e-5]
    let text = JSONWriter.string(v)
    #expect(text == #"{"a":null,"b":[1,2.5,"x\n\u0001\"\\é"],"c":{"y":false,"z":true},"f":1e-05,"n":-12}"#)
    #expect(try JSONParser.parse(text) == v)
    let pretty = JSONWriter.string(v, pretty: true)
    #expect(try JSONParser.parse(pretty) == v)
    #expect(pretty.contains("\n  \"a\": null"))
}

/// Fuzz-style: random mutations of a valid document either parse or throw; never trap. Whatever
/// parses must write and re-parse to the same value.
@Test func mutatedInputNeverCrashes() {
    let base = Array(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"*","n":[1.5e3,-0,true,null,"\u00e9"]}]}"#.utf8)
    var rng = SplitMix64(seed: 42)
    let alphabet: [UInt8] = Array("{}[]\",:\\u0123456789eE.-+tfnl aé".utf8) + [0x00, 0x80, 0xFF, 0xC3]
    var parsed = 0
    for _ in 0..<20_000 {
        var b = base
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let pos = Int(rng.next() % UInt64(b.count))
            switch rng.next() % 3 {
            case 0: b[pos] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            case 1: b.remove(at: pos)
            default: b.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: pos)
            }
            if b.isEmpty { break }
        }
        if let v = try? JSONParser.parse(b) {
            parsed += 1
            #expect((try? JSONParser.parse(JSONWriter.bytes(v))) == v)
        }
    }
    #expect(parsed > 0)
}

struct Sample: Codable, Equatable {
    var name: String
    var count: Int
    var ratio: Double?
    var tags: [String: String]
    var items: [Item]
    var raw: JSON
    struct Item: Codable, Equatable { var id: String; var on: Bool }
}

@Test func codableRoundTripsThroughJSON() throws {
    let s = Sample(name: "x", count: 3, ratio: nil, tags: ["k": "v"], items: [.init(id: "a", on: true)], raw: ["any": [1, nil]])
    let j = try JSON(encoding: s)
    #expect(j["name"] == "x")
    #expect(j["ratio"] == nil)
    #expect(j["items"]?[0]?["on"] == true)
    #expect(try j.decode(Sample.self) == s)
}

@Test func largeCollectionsEncodeWhole() throws {
    // Containers of thousands of members (a node's state: its jobs, users, tombstones), nested.
    let tags = Dictionary(uniqueKeysWithValues: (0..<5000).map { ("key-\($0)", "value-\($0)") })
    let items = (0..<5000).map { Sample.Item(id: "item-\($0)", on: $0 % 3 == 0) }
    let s = Sample(name: "big", count: 5000, ratio: 0.5, tags: tags, items: items, raw: .array((0..<100).map { .int($0) }))
    let j = try JSON(encoding: s)
    #expect(j["tags"]?.objectValue?.count == 5000)
    #expect(j["items"]?.arrayValue?.count == 5000)
    #expect(j["items"]?[4999]?["id"] == "item-4999")
    #expect(try j.decode(Sample.self) == s)
    let nested = try JSON(encoding: ["outer": tags.mapValues { [$0, $0] }])
    #expect(nested["outer"]?["key-17"] == ["value-17", "value-17"])
}

@Test func decodingErrorsNameTheMember() {
    let j: JSON = ["name": "x", "count": "three", "tags": [:], "items": [], "raw": nil]
    do {
        _ = try j.decode(Sample.self)
        Issue.record("decoded a string as Int")
    } catch {
        #expect(error.description == "count: expected integer, got string")
    }
    let missing: JSON = ["name": "x", "count": 1, "tags": [:], "items": [["id": "a"]], "raw": 1]
    do {
        _ = try missing.decode(Sample.self)
        Issue.record("decoded with a member missing")
    } catch {
        #expect(error.description == "items[0].on: required member is missing")
    }
}

// RFC 4648 section 10 test vectors.
@Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
func base64Vectors(plain: String, encoded: String) {
    #expect(Base64.encode(Array(plain.utf8)) == encoded)
    #expect(Base64.decode(encoded) == Array(plain.utf8))
}

@Test(arguments: ["Zg=", "Zg", "Z===", "Zm9v!A==", "Zg==Zg==", "Zm=v"])
func base64RejectsMalformedText(text: String) {
    #expect(Base64.decode(text) == nil)
}

@Test func base64RoundTripsEveryByte() {
    let all = (0..<256).map { UInt8($0) }
    for n in 0..<all.count { #expect(Base64.decode(Base64.encode(all[..<n])) == Array(all[..<n])) }
}

/// Integers of up to 15 digits skip the text-to-double conversion; longer ones and anything with a
/// fraction or exponent still take it. Both must give exactly what `Double(text)` gives.
@Test func integersReadExactlyOnBothPaths() throws {
    var rng = SplitMix64(seed: 7)
    var texts = ["0", "-0", "7", "-12", "999999999999999", "-999999999999999", "1000000000000000", "9007199254740993", "123456789012345678901"]
    for _ in 0..<2_000 {
        let digits = 1 + Int(rng.next() % 19)
        var t = String(1 + rng.next() % 9)
        for _ in 1..<digits { t += String(rng.next() % 10) }
        texts.append(rng.next() % 2 == 0 ? t : "-" + t)
    }
    for t in texts {
        let v = try JSONParser.parse(t)
        #expect(v == .number(Double(t)!), "\(t)")
        #expect(v.numberValue!.sign == Double(t)!.sign, "\(t)")
    }
}

/// The member-by-member writer gives the same bytes as the general writer, escapes and all.
@Test func objectWriterMatchesTheGeneralWriter() {
    var w = JSONObjectWriter()
    w.member("a", "x\n\u{1}\"\\é")
    w.member("absent", nil as String?)
    w.member("b", 2.5)
    w.member("c", true)
    w.member("d", ["z": [1, nil], "y": "w"] as JSON)
    w.member("e", stringObjects: [[("name", "k"), ("value", "1")], [("name", "l\t"), ("value", "2")]])
    w.member("f", JSON.null)
    let expected: JSON = ["a": "x\n\u{1}\"\\é", "b": 2.5, "c": true, "d": ["z": [1, nil], "y": "w"],
                          "e": [["name": "k", "value": "1"], ["name": "l\t", "value": "2"]], "f": nil]
    #expect(w.finish() == JSONWriter.bytes(expected))
    #expect(JSONObjectWriter().finish() == Array("{}".utf8))
}

/// Every ASCII character, alone and inside text, writes as valid JSON that reads back the same,
/// with no raw control character or DEL left in the output.
@Test func everyASCIICharacterWritesAndReadsBack() throws {
    for scalar in 0..<128 {
        let c = String(Character(Unicode.Scalar(UInt8(scalar))))
        for text in [c, "ab" + c + "é" + c + "cd"] {
            let bytes = JSONWriter.bytes(.string(text))
            #expect(!bytes.contains { $0 < 0x20 || $0 == 0x7F }, "\(scalar)")
            #expect(try JSONParser.parse(bytes) == .string(text), "\(scalar)")
        }
    }
}
