/// Codable bridge to `JSON`: `JSON(encoding: value)` and `value(decoding:)`. Errors name the path
/// of the member that did not fit ("tags.Owner: expected string, got number"), so they can go
/// back to a user unchanged.
public struct JSONDecodingError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

extension JSON {
    /// Encodes any `Encodable` value as `JSON`.
    public init<T: Encodable>(encoding value: T) throws {
        let node = Node()
        try encodeValue(value, node, [])
        self = node.json
    }

    /// Decodes a `Decodable` value from this JSON.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws(JSONDecodingError) -> T {
        do {
            return try T(from: ValueDecoder(value: self, codingPath: []))
        } catch let e as JSONDecodingError {
            throw e
        } catch {
            throw JSONDecodingError(path: "", reason: "\(error)")
        }
    }
}

func pathString(_ path: [CodingKey]) -> String {
    var s = ""
    for k in path {
        if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : ".\(k.stringValue)" }
    }
    return s
}

struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ i: Int) { intValue = i }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

// MARK: - Decoder

private struct ValueDecoder: Decoder {
    let value: JSON
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ expected: String) -> JSONDecodingError {
        JSONDecodingError(path: pathString(codingPath), reason: "expected \(expected), got \(value.typeName)")
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let o) = value else { throw mismatch("object") }
        return KeyedDecodingContainer(KeyedDecoder<Key>(object: o, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let a) = value else { throw mismatch("array") }
        return UnkeyedDecoder(array: a, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { self }
}

extension ValueDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool {
        guard let b = value.boolValue else { throw mismatch("boolean") }
        return b
    }
    func decode(_ type: String.Type) throws -> String {
        guard let s = value.stringValue else { throw mismatch("string") }
        return s
    }
    func decode(_ type: Double.Type) throws -> Double {
        guard let n = value.numberValue else { throw mismatch("number") }
        return n
    }
    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
    func integer<T: FixedWidthInteger>(_ t: T.Type) throws -> T {
        guard let n = value.numberValue, n.rounded() == n, let v = T(exactly: n) else { throw mismatch("integer") }
        return v
    }
    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSON.self { return value as! T }
        return try T(from: self)
    }
}

private struct KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: [String: JSON]
    let codingPath: [CodingKey]
    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    func child(_ key: Key) throws -> ValueDecoder {
        guard let v = object[key.stringValue] else {
            throw JSONDecodingError(path: pathString(codingPath + [key]), reason: "required member is missing")
        }
        return ValueDecoder(value: v, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { object[key.stringValue]?.isNull ?? true }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decode(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }
    func superDecoder() throws -> Decoder { ValueDecoder(value: .object(object), codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> Decoder { try child(key) }
}

private struct UnkeyedDecoder: UnkeyedDecodingContainer {
    let array: [JSON]
    let codingPath: [CodingKey]
    var currentIndex = 0
    var count: Int? { array.count }
    var isAtEnd: Bool { currentIndex >= array.count }

    init(array: [JSON], codingPath: [CodingKey]) {
        self.array = array
        self.codingPath = codingPath
    }

    mutating func next() throws -> ValueDecoder {
        guard !isAtEnd else {
            throw JSONDecodingError(path: pathString(codingPath), reason: "array has too few elements")
        }
        defer { currentIndex += 1 }
        return ValueDecoder(value: array[currentIndex], codingPath: codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        if !isAtEnd, array[currentIndex].isNull { currentIndex += 1; return true }
        return false
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> Decoder { try next() }
}

// MARK: - Encoder

/// A mutable tree that nested containers write into; materialised into `JSON` at the end.
private final class Node {
    enum Kind { case leaf(JSON), object([String: Node]), array([Node]) }
    var kind: Kind = .leaf(.null)
    var json: JSON {
        switch kind {
        case .leaf(let j): return j
        case .object(let o): return .object(o.mapValues { $0.json })
        case .array(let a): return .array(a.map { $0.json })
        }
    }
    func asObject() -> Node {
        if case .object = kind {} else { kind = .object([:]) }
        return self
    }
    func asArray() -> Node {
        if case .array = kind {} else { kind = .array([]) }
        return self
    }
    // The container is taken out of `kind` before it changes: while `kind` still held it, the
    // copy in hand was shared, so each insertion copied the whole container (quadratic: a
    // snapshot of 7,000 jobs spent most of a node's CPU copying dictionaries).
    func child(_ key: String) -> Node {
        let n = Node()
        if case .object(var o) = kind {
            kind = .leaf(.null)
            o[key] = n
            kind = .object(o)
        }
        return n
    }
    func appendChild() -> Node {
        let n = Node()
        if case .array(var a) = kind {
            kind = .leaf(.null)
            a.append(n)
            kind = .array(a)
        }
        return n
    }
    var count: Int { if case .array(let a) = kind { return a.count } else { return 0 } }
}

private final class ValueEncoder: Encoder {
    let codingPath: [CodingKey]
    let node: Node
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    init(codingPath: [CodingKey], node: Node = Node()) {
        self.codingPath = codingPath
        self.node = node
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedEncoder<Key>(node: node.asObject(), codingPath: codingPath))
    }
    func unkeyedContainer() -> UnkeyedEncodingContainer {
        UnkeyedEncoder(node: node.asArray(), codingPath: codingPath)
    }
    func singleValueContainer() -> SingleValueEncodingContainer { SingleEncoder(node: node, codingPath: codingPath) }
}

private struct SingleEncoder: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [CodingKey]
    func encodeNil() throws { node.kind = .leaf(.null) }
    func encode(_ value: Bool) throws { node.kind = .leaf(.bool(value)) }
    func encode(_ value: String) throws { node.kind = .leaf(.string(value)) }
    func encode(_ value: Double) throws { node.kind = .leaf(.number(value)) }
    func encode(_ value: Float) throws { node.kind = .leaf(.number(Double(value))) }
    func encode(_ value: Int) throws { node.kind = .leaf(.number(Double(value))) }
    func encode(_ value: Int8) throws { node.kind = .leaf(.number(Double(value))) }
    func encode(_ value: Int16) throws { node.kind = .leaf(.number(Double(value))) }
    func encode(_ value: Int32) throws { node.kind = .leaf(.number(Double(value))) }
    func encode(_ value: Int64) throws { node.kind = .leaf(.number(Double(value))) }
    func encode(_ value: UInt) throws { node.kind = .leaf(.number(Double(value))) }
    func encode(_ value: UInt8) throws { node.kind = .leaf(.number(Double(value))) }
    func encode(_ value: UInt16) throws { node.kind = .leaf(.number(Double(value))) }
    func encode(_ value: UInt32) throws { node.kind = .leaf(.number(Double(value))) }
    func encode(_ value: UInt64) throws { node.kind = .leaf(.number(Double(value))) }
    func encode<T: Encodable>(_ value: T) throws { try encodeValue(value, node, codingPath) }
}

/// Encodes `value` into `node`; a `JSON` value is stored as it is.
private func encodeValue<T: Encodable>(_ value: T, _ node: Node, _ path: [CodingKey]) throws {
    if let j = value as? JSON { node.kind = .leaf(j); return }
    try value.encode(to: ValueEncoder(codingPath: path, node: node))
}

private struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.child(key.stringValue).kind = .leaf(.null) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeValue(value, node.child(key.stringValue), codingPath + [key])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedEncoder<NestedKey>(node: node.child(key.stringValue).asObject(), codingPath: codingPath + [key]))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        UnkeyedEncoder(node: node.child(key.stringValue).asArray(), codingPath: codingPath + [key])
    }
    mutating func superEncoder() -> Encoder { ValueEncoder(codingPath: codingPath, node: node.child("super")) }
    mutating func superEncoder(forKey key: Key) -> Encoder { ValueEncoder(codingPath: codingPath + [key], node: node.child(key.stringValue)) }
}

private struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [CodingKey]
    var count: Int { node.count }

    mutating func encodeNil() throws { node.appendChild().kind = .leaf(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = codingPath + [IndexKey(count)]
        try encodeValue(value, node.appendChild(), path)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = codingPath + [IndexKey(count)]
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(node: node.appendChild().asObject(), codingPath: path))
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let path = codingPath + [IndexKey(count)]
        return UnkeyedEncoder(node: node.appendChild().asArray(), codingPath: path)
    }
    mutating func superEncoder() -> Encoder { ValueEncoder(codingPath: codingPath, node: node.appendChild()) }
}

extension JSON: Codable {
    public init(from decoder: Decoder) throws {
        if let d = decoder as? ValueDecoder { self = d.value; return }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
