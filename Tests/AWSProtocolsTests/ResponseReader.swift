@testable import AWSProtocols
import CleanRoomsModel
import HTTP
import JSON

/// Reads an answer back as an SDK does (botocore's parsers, written again here from the
/// protocols' rules, independently of the front's writer): so a test can say that what the front
/// wrote is what an SDK reads. Timestamps come back as epoch seconds, blobs as base64.
struct ResponseReader {
    let service: ProtocolService
    let operation: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func read(_ r: HTTPResponse) throws -> JSON {
        let output = service.outputShape(operation)
        switch service.wire {
        case .json:
            return try timestamps(r.body.isEmpty ? .object([:]) : JSONParser.parse(r.body), output)
        case .query:
            guard case .success(let root) = XMLReader.parse(r.body) else { throw Failure(description: "the answer is not XML") }
            guard root.name == "\(operation)Response" else { throw Failure(description: "root <\(root.name)>") }
            guard output != nil else { return .object([:]) }
            let wrapper = service.operations[operation]?["output"]?["resultWrapper"]?.stringValue ?? "\(operation)Result"
            guard let result = root.child(wrapper) else { throw Failure(description: "no <\(wrapper)>") }
            guard root.child("ResponseMetadata")?.child("RequestId") != nil else { throw Failure(description: "no RequestId") }
            return try xml(result, output)
        case .restJSON, .restXML:
            var out: [String: JSON] = [:]
            let payload = service.shape(output)["payload"]?.stringValue
            var bodyMembers: [(String, JSON)] = []
            for (name, spec) in service.members(output) {
                let s = spec["shape"]?.stringValue
                let loc = spec["locationName"]?.stringValue ?? name
                switch spec["location"]?.stringValue {
                case "header":
                    if let v = r.headers.last(where: { $0.name.lowercased() == loc.lowercased() })?.value { out[name] = try scalar(v, s, header: true) }
                case "headers":
                    var m: [String: JSON] = [:]
                    for h in r.headers where h.name.lowercased().hasPrefix(loc.lowercased()) { m[String(h.name.dropFirst(loc.count))] = .string(h.value) }
                    if !m.isEmpty { out[name] = .object(m) }
                case "statusCode":
                    out[name] = .int(r.status)
                default:
                    if name == payload {
                        if service.type(s) == "blob" { out[name] = .string(Base64.encode(r.body)) } else if !r.body.isEmpty {
                            out[name] = service.wire == .restJSON ? try timestamps(JSONParser.parse(r.body), s) : try xmlRoot(r.body, s)
                        }
                    } else {
                        bodyMembers.append((name, spec))
                    }
                }
            }
            if payload == nil && !r.body.isEmpty {
                if service.wire == .restJSON {
                    let body = try JSONParser.parse(r.body)
                    for (name, spec) in bodyMembers { if let v = body[name] { out[name] = try timestamps(v, spec["shape"]?.stringValue) } }
                } else {
                    guard case .success(let root) = XMLReader.parse(r.body) else { throw Failure(description: "the answer is not XML") }
                    let parsed = try xml(root, output)
                    for (name, _) in bodyMembers { if let v = parsed[name] { out[name] = v } }
                }
            }
            return .object(out)
        }
    }

    private func xmlRoot(_ body: [UInt8], _ shape: String?) throws -> JSON {
        guard case .success(let root) = XMLReader.parse(body) else { throw Failure(description: "the payload is not XML") }
        return try xml(root, shape)
    }

    /// JSON timestamps (numbers or ISO text) as epoch seconds.
    func timestamps(_ v: JSON, _ shapeName: String?) throws -> JSON {
        let s = service.shape(shapeName)
        switch (service.type(shapeName), v) {
        case ("structure", .object(let o)):
            var r: [String: JSON] = [:]
            for (k, x) in o { r[k] = try timestamps(x, s["members"]?[k]?["shape"]?.stringValue) }
            return .object(r)
        case ("list", .array(let a)): return .array(try a.map { try timestamps($0, s["member"]?["shape"]?.stringValue) })
        case ("map", .object(let o)): return .object(try o.mapValues { try timestamps($0, s["value"]?["shape"]?.stringValue) })
        case ("timestamp", .string(let t)):
            guard let e = ISO8601.parse(t) else { throw Failure(description: "timestamp '\(t)'") }
            return .number(e)
        default: return v
        }
    }

    /// An element read by its shape (botocore's XML rules).
    func xml(_ e: XMLElement, _ shapeName: String?) throws -> JSON {
        let s = service.shape(shapeName)
        switch service.type(shapeName) {
        case "structure":
            var o: [String: JSON] = [:]
            for (name, spec) in service.members(shapeName) where spec["location"] == nil {
                let memberShape = spec["shape"]?.stringValue
                let tag = spec["locationName"]?.stringValue ?? name
                if service.type(memberShape) == "list" && (service.shape(memberShape)["flattened"]?.boolValue ?? false) {
                    let items = e.children.filter { $0.name == tag }
                    if !items.isEmpty { o[name] = .array(try items.map { try xml($0, service.shape(memberShape)["member"]?["shape"]?.stringValue) }) }
                } else if let c = e.child(tag) {
                    o[name] = try xml(c, memberShape)
                }
            }
            return .object(o)
        case "list":
            let tag = s["member"]?["locationName"]?.stringValue ?? "member"
            return .array(try e.children.filter { $0.name == tag }.map { try xml($0, s["member"]?["shape"]?.stringValue) })
        case "map":
            var m: [String: JSON] = [:]
            for entry in e.children where entry.name == "entry" {
                guard let k = entry.child("key")?.text, let v = entry.child("value") else { throw Failure(description: "a map entry without key or value") }
                m[k] = try xml(v, s["value"]?["shape"]?.stringValue)
            }
            return .object(m)
        default:
            return try scalar(e.text, shapeName, header: false)
        }
    }

    func scalar(_ text: String, _ shapeName: String?, header: Bool) throws -> JSON {
        switch service.type(shapeName) {
        case "integer", "long":
            guard let i = Int(text) else { throw Failure(description: "integer '\(text)'") }
            return .int(i)
        case "double", "float":
            guard let d = Double(text) else { throw Failure(description: "number '\(text)'") }
            return .number(d)
        case "boolean":
            guard text == "true" || text == "false" else { throw Failure(description: "boolean '\(text)'") }
            return .bool(text == "true")
        case "timestamp":
            // Headers: RFC 7231 dates unless the shape says otherwise; bodies: ISO 8601.
            if header, service.shape(shapeName)["timestampFormat"] == nil {
                guard let t = HTTPDate.parse(text) else { throw Failure(description: "HTTP date '\(text)'") }
                return .number(t)
            }
            guard let t = ISO8601.parse(text) else { throw Failure(description: "timestamp '\(text)'") }
            return .number(t)
        default:
            return .string(text)
        }
    }
}

/// Values shaped like an operation's output, from the model: every member set (strings carry
/// their member's name, or an enum's first value), lists and maps of one item, nesting cut at
/// a depth where models recurse.
struct SampleValues {
    let service: ProtocolService

    func sample(_ shapeName: String?, member: String, depth: Int = 0) -> JSON? {
        let s = service.shape(shapeName)
        switch service.type(shapeName) {
        case "structure":
            guard depth < 6 else { return nil }
            var o: [String: JSON] = [:]
            for (name, spec) in service.members(shapeName) {
                if spec["location"]?.stringValue == "statusCode" { continue }
                if let v = sample(spec["shape"]?.stringValue, member: name, depth: depth + 1) { o[name] = v }
            }
            return .object(o)
        case "list":
            guard depth < 6, let item = sample(s["member"]?["shape"]?.stringValue, member: member, depth: depth + 1) else { return nil }
            return .array([item])
        case "map":
            guard depth < 6, let v = sample(s["value"]?["shape"]?.stringValue, member: member, depth: depth + 1) else { return nil }
            return .object(["k1": v])
        case "integer", "long": return .int(max(1, s["min"]?.intValue ?? 1))
        case "double", "float": return .number(0.5)
        case "boolean": return .bool(true)
        case "timestamp": return .number(1_796_301_360)
        case "blob": return .string(Base64.encode(Array("hello".utf8)))
        default:
            if let first = s["enum"]?.arrayValue?.first?.stringValue { return .string(first) }
            return .string("\(member) <&'\"> é")
        }
    }
}
