import CleanRoomsModel
import HTTP
import JSON

/// Answers written as each protocol returns them, from the node's JSON-RPC result.
extension ProtocolService {
    /// The answer to `call`: `result` is the node's result (timestamps as epoch seconds), `body`
    /// the raw payload of an operation that streams one (S3's `GetObject`).
    public func response(to call: AWSCall, result: JSON, body: [UInt8]? = nil, requestID: String) -> HTTPResponse {
        let output = outputShape(call.operation)
        switch wire {
        case .json:
            return HTTPResponse(status: 200, headers: [("x-amzn-RequestId", requestID), ("Content-Type", wire.contentType)],
                                body: JSONWriter.bytes(toWireJSON(result, output)))
        case .query:
            var w = XMLWriter()
            w.open("\(call.operation)Response", xmlns: xmlNamespace)
            if let output {
                let wrapper = operations[call.operation]?["output"]?["resultWrapper"]?.stringValue ?? "\(call.operation)Result"
                writeXML(result, output, name: wrapper, into: &w)
            }
            w.open("ResponseMetadata")
            w.element("RequestId", requestID)
            w.close("ResponseMetadata")
            w.close("\(call.operation)Response")
            return HTTPResponse(status: 200, headers: [("x-amzn-RequestId", requestID), ("Content-Type", wire.contentType)], body: w.bytes)
        case .restJSON, .restXML:
            return restResponse(call, result: result, output: output, body: body, requestID: requestID)
        }
    }

    private func restResponse(_ call: AWSCall, result: JSON, output: String?, body payloadBytes: [UInt8]?, requestID: String) -> HTTPResponse {
        var status = operations[call.operation]?["http"]?["responseCode"]?.intValue ?? 200
        if wire == .restJSON, let output, bodyOnlyShapes.contains(output), status != 204, !call.isHead {
            // Every member is a body member: the result, timestamps in their formats, is the body.
            return HTTPResponse(status: status, headers: [("x-amzn-RequestId", requestID), ("Content-Type", wire.contentType)],
                                body: JSONWriter.bytes(toWireJSON(result, output)))
        }
        var headers: [(name: String, value: String)] = wire == .restXML
            ? [("x-amz-request-id", requestID), ("x-amz-id-2", requestID)]
            : [("x-amzn-RequestId", requestID)]
        var bodyMembers: [String: JSON] = [:]
        var bodyShape: [(name: String, spec: JSON)] = []
        let payload = shape(output)["payload"]?.stringValue
        var payloadBody: [UInt8]?
        var contentType = wire.contentType
        var contentTypeGiven = false
        for (name, spec) in members(output) {
            guard let value = result[name] else { continue }
            let memberShape = spec["shape"]?.stringValue
            let locationName = spec["locationName"]?.stringValue ?? name
            switch spec["location"]?.stringValue {
            case "header":
                // The body's own length is written by the response; a HEAD states the object's.
                if locationName.lowercased() == "content-length" && !call.isHead { continue }
                if locationName.lowercased() == "content-type" { contentType = value.stringValue ?? contentType; contentTypeGiven = true; continue }
                headers.append((locationName, headerText(value, memberShape)))
            case "headers":
                for (k, v) in value.objectValue ?? [:] { headers.append((locationName + k, v.stringValue ?? "")) }
            case "statusCode":
                status = value.intValue ?? status
            default:
                if name == payload {
                    if type(memberShape) == "blob" { payloadBody = payloadBytes ?? value.stringValue.flatMap(Base64.decode) ?? [] } else {
                        var w = XMLWriter()
                        if wire == .restJSON { payloadBody = JSONWriter.bytes(toWireJSON(value, memberShape)) } else {
                            writeXML(value, memberShape, name: locationName, into: &w, xmlns: xmlNamespace)
                            payloadBody = w.bytes
                        }
                    }
                } else {
                    bodyMembers[name] = value
                    bodyShape.append((name, spec))
                }
            }
        }
        // A streamed payload comes beside the result, not in it (S3's GetObject).
        if payloadBody == nil, let payloadBytes { payloadBody = payloadBytes }
        var body: [UInt8]
        if let payloadBody {
            body = payloadBody
        } else if wire == .restJSON {
            var o: [String: JSON] = [:]
            for (name, spec) in bodyShape { o[name] = toWireJSON(bodyMembers[name]!, spec["shape"]?.stringValue) }
            body = status == 204 ? [] : JSONWriter.bytes(.object(o))
        } else if bodyShape.isEmpty {
            body = []
        } else {
            var w = XMLWriter()
            let root = shape(output)["locationName"]?.stringValue ?? ProtocolService.restXMLRoots[call.operation] ?? "\(call.operation)Result"
            w.open(root, xmlns: xmlNamespace)
            for (name, spec) in bodyShape { writeMember(bodyMembers[name]!, name: name, spec: spec, into: &w) }
            w.close(root)
            body = w.bytes
        }
        if !body.isEmpty || payload != nil || contentTypeGiven { headers.append(("Content-Type", contentType)) }
        if call.isHead {
            if !headers.contains(where: { $0.name.lowercased() == "content-length" }) { headers.append(("Content-Length", "0")) }
            body = []
        }
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    /// Root elements S3 names in its documentation where the model does not.
    static let restXMLRoots = ["ListBuckets": "ListAllMyBucketsResult", "ListObjectsV2": "ListBucketResult"]

    // MARK: Errors

    /// An error in the protocol's own form; `isHead`: the status and headers only.
    public func errorResponse(_ e: AWSWireError, requestID: String, isHead: Bool = false) -> HTTPResponse {
        ProtocolService.errorResponse(e, wire: wire, xmlns: xmlNamespace, requestID: requestID, isHead: isHead)
    }

    public static func errorResponse(_ e: AWSWireError, wire: WireProtocol, xmlns: String? = nil, requestID: String, isHead: Bool = false) -> HTTPResponse {
        var response: HTTPResponse
        switch wire {
        case .restJSON:
            response = HTTPResponse(status: e.status, headers: [("x-amzn-RequestId", requestID), ("x-amzn-ErrorType", e.code), ("Content-Type", wire.contentType)],
                                    body: JSONWriter.bytes(["message": .string(e.message)]))
        case .json:
            response = HTTPResponse(status: e.status, headers: [("x-amzn-RequestId", requestID), ("Content-Type", wire.contentType)],
                                    body: JSONWriter.bytes(["__type": .string(e.code), "message": .string(e.message)]))
        case .query:
            var w = XMLWriter()
            w.open("ErrorResponse", xmlns: xmlns)
            w.open("Error")
            w.element("Type", e.status >= 500 ? "Receiver" : "Sender")
            w.element("Code", e.code)
            w.element("Message", e.message)
            w.close("Error")
            w.element("RequestId", requestID)
            w.close("ErrorResponse")
            response = HTTPResponse(status: e.status, headers: [("x-amzn-RequestId", requestID), ("Content-Type", wire.contentType)], body: w.bytes)
        case .restXML:
            var w = XMLWriter()
            w.open("Error")
            w.element("Code", e.code)
            w.element("Message", e.message)
            w.element("RequestId", requestID)
            w.close("Error")
            response = HTTPResponse(status: e.status, headers: [("x-amz-request-id", requestID), ("x-amz-id-2", requestID), ("Content-Type", wire.contentType)], body: w.bytes)
        }
        if isHead {
            response.headers.removeAll { $0.name == "Content-Type" }
            response.headers.append(("Content-Length", "0"))
            response.body = []
        }
        return response
    }

    // MARK: Values

    /// A JSON value as the protocol writes it: timestamps in their shape's format (epoch
    /// seconds unless the model says otherwise).
    func toWireJSON(_ value: JSON, _ shapeName: String?) -> JSON {
        mapTimestamps(value, shapeName) { v, s in
            guard case .number(let t) = v else { return v }
            switch s["timestampFormat"]?.stringValue {
            case "iso8601": return .string(ProtocolService.iso8601(t))
            case "rfc822": return .string(HTTPDate.format(t))
            default: return v
            }
        }
    }

    /// ISO 8601 with milliseconds when the time has them (`2026-12-03T06:45:26.578Z`), as AWS
    /// writes them.
    static func iso8601(_ t: Double) -> String {
        guard t.isFinite, ISO8601.range.contains(t) else { return ISO8601.format(t) }
        let whole = t.rounded(.down)
        let millis = Int(((t - whole) * 1000).rounded(.down))
        let base = ISO8601.format(whole)
        guard millis > 0, base.hasSuffix("Z") else { return base }
        let m = String(millis)
        return String(base.dropLast()) + "." + String(repeating: "0", count: 3 - m.count) + m + "Z"
    }

    private func headerText(_ value: JSON, _ shapeName: String?) -> String {
        switch value {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number(let n):
            if type(shapeName) == "timestamp" {
                switch shape(shapeName)["timestampFormat"]?.stringValue {
                case "iso8601": return ProtocolService.iso8601(n)
                case "unixTimestamp": return scalarText(value, shapeName)
                default: return HTTPDate.format(n)
                }
            }
            return scalarText(value, shapeName)
        default: return JSONWriter.string(value)
        }
    }

    private func scalarText(_ value: JSON, _ shapeName: String?) -> String {
        switch value {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number(let n):
            if type(shapeName) == "timestamp" { return ProtocolService.iso8601(n) }
            if n.rounded() == n && abs(n) < 9e15 { return String(Int(n)) }
            return JSONWriter.string(value)
        default: return JSONWriter.string(value)
        }
    }

    /// `value` as the element `name` (query and REST-XML): structures as child elements, lists
    /// wrapped in `member` elements unless flattened, maps as `entry` elements.
    func writeXML(_ value: JSON, _ shapeName: String?, name: String, into w: inout XMLWriter, xmlns: String? = nil) {
        let s = shape(shapeName)
        switch type(shapeName) {
        case "structure":
            w.open(name, xmlns: xmlns)
            for (memberName, spec) in members(shapeName) where spec["location"] == nil {
                if let v = value[memberName] { writeMember(v, name: memberName, spec: spec, into: &w) }
            }
            w.close(name)
        case "list":
            w.open(name, xmlns: xmlns)
            let itemName = s["member"]?["locationName"]?.stringValue ?? "member"
            for item in value.arrayValue ?? [] { writeXML(item, s["member"]?["shape"]?.stringValue, name: itemName, into: &w) }
            w.close(name)
        case "map":
            w.open(name, xmlns: xmlns)
            for (k, v) in (value.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                w.open("entry")
                w.element(s["key"]?["locationName"]?.stringValue ?? "key", k)
                writeXML(v, s["value"]?["shape"]?.stringValue, name: s["value"]?["locationName"]?.stringValue ?? "value", into: &w)
                w.close("entry")
            }
            w.close(name)
        default:
            w.element(name, scalarText(value, shapeName))
        }
    }

    private func writeMember(_ value: JSON, name: String, spec: JSON, into w: inout XMLWriter) {
        let memberShape = spec["shape"]?.stringValue
        let elementName = spec["locationName"]?.stringValue ?? name
        if type(memberShape) == "list" && (shape(memberShape)["flattened"]?.boolValue == true || spec["flattened"]?.boolValue == true) {
            for item in value.arrayValue ?? [] { writeXML(item, shape(memberShape)["member"]?["shape"]?.stringValue, name: elementName, into: &w) }
        } else {
            writeXML(value, memberShape, name: elementName, into: &w)
        }
    }
}
