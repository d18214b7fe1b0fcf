import CleanRoomsModel
import HTTP
import JSON

/// Requests read as each protocol sends them, into the node's JSON-RPC parameters.
extension ProtocolService {
    /// Finds the operation and reads its input from the path, query, headers and body (`body`:
    /// the payload with any `aws-chunked` framing already removed).
    public func decode(_ request: HTTPRequest, body: [UInt8]) -> Result<AWSCall, AWSWireError> {
        do {
            switch wire {
            case .restJSON, .restXML: return .success(try decodeREST(request, body: body))
            case .json: return .success(try decodeJSON(request, body: body))
            case .query: return .success(try decodeQuery(request, body: body))
            }
        } catch let e as AWSWireError {
            return .failure(e)
        } catch {
            return .failure(AWSWireError("InternalFailure", "\(error)", status: 500))
        }
    }

    var invalid: (String) -> AWSWireError {
        let code = model.validationError
        return { AWSWireError(code.name, $0, status: code.httpStatus) }
    }

    var serializationError: (String) -> AWSWireError {
        switch wire {
        case .query: return { AWSWireError("MalformedInput", $0, status: 400) }
        case .restXML: return { AWSWireError("MalformedXML", $0, status: 400) }
        default: return { AWSWireError("SerializationException", $0, status: 400) }
        }
    }

    // MARK: REST (rest-json and rest-xml)

    private func decodeREST(_ request: HTTPRequest, body: [UInt8]) throws -> AWSCall {
        let segments = RestRoute.pathSegments(request.path)
        guard let pairs = PercentCoding.parameters(request.query, plusIsSpace: false) else { throw serializationError("The query string is not validly percent-encoded") }
        var query: [String: [String]] = [:]
        for (k, v) in pairs { query[k, default: []].append(v) }
        let byFirst = routesByMethod[request.method] ?? [:]
        let candidates = (segments.first.flatMap { byFirst[String($0)] } ?? []) + (byFirst[""] ?? [])
        guard let (route, labels) = candidates.lazy.compactMap({ r in r.match(method: request.method, segments: segments, query: query).map { (r, $0) } }).first else {
            let otherMethods = routes.filter { $0.match(method: $0.method, segments: segments, query: query) != nil }.map(\.method)
            if wire == .restXML {
                if !otherMethods.isEmpty { throw AWSWireError("MethodNotAllowed", "The specified method is not allowed against this resource.", status: 405) }
                throw AWSWireError("NotImplemented", "A header or query you provided implies functionality that is not implemented: \(request.method) \(request.path)", status: 501)
            }
            throw AWSWireError("UnknownOperationException", "No \(model.name) operation takes \(request.method) \(request.path)\(otherMethods.isEmpty ? "" : " (that path takes \(Set(otherMethods).sorted().joined(separator: ", ")))")", status: 404)
        }
        let input = inputShape(route.operation)
        var params: [String: JSON] = [:]
        var bodyMembers: [String: String] = [:]  // member name to shape
        for (name, spec) in members(input) {
            let shapeName = spec["shape"]?.stringValue
            let locationName = spec["locationName"]?.stringValue ?? name
            switch spec["location"]?.stringValue {
            case "uri":
                if let v = labels[locationName] { params[name] = try scalar(v, shapeName, member: name, defaultFormat: "iso8601") }
            case "querystring":
                if type(shapeName) == "list" {
                    if let vs = query[locationName] {
                        let item = shape(shapeName)["member"]?["shape"]?.stringValue
                        params[name] = .array(try vs.map { try scalar($0, item, member: name, defaultFormat: "iso8601") })
                    }
                } else if type(shapeName) == "map" {
                    var m: [String: JSON] = [:]
                    for (k, v) in pairs where !route.queryLiterals.contains(where: { $0.name == k }) { m[k] = .string(v) }
                    if !m.isEmpty { params[name] = .object(m) }
                } else if let v = query[locationName]?.first {
                    params[name] = try scalar(v, shapeName, member: name, defaultFormat: "iso8601")
                }
            case "header":
                if name == "ContentEncoding", let v = request.header(locationName) {
                    // aws-chunked is the transfer's framing, not the object's encoding.
                    let rest = v.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { $0.lowercased() != "aws-chunked" }
                    if !rest.isEmpty { params[name] = .string(rest.joined(separator: ",")) }
                } else if name == "ContentLength", request.header("x-amz-decoded-content-length") != nil {
                    params[name] = .int(body.count)
                } else if let v = request.header(locationName) {
                    params[name] = try scalar(v, shapeName, member: name, defaultFormat: "rfc822")
                }
            case "headers":
                let prefix = locationName.lowercased()
                var m: [String: JSON] = [:]
                for h in request.headers where h.name.lowercased().hasPrefix(prefix) && h.name.count > prefix.count {
                    m[String(h.name.lowercased().dropFirst(prefix.count))] = .string(h.value)
                }
                if !m.isEmpty { params[name] = .object(m) }
            case "statusCode":
                break
            default:
                bodyMembers[name] = shapeName ?? ""
            }
        }
        if let payload = shape(input)["payload"]?.stringValue, let payloadShape = bodyMembers[payload] {
            switch type(payloadShape) {
            case "blob", "string":
                if !body.isEmpty || request.method == "PUT" || request.method == "POST" {
                    params[payload] = type(payloadShape) == "blob" ? .string(Base64.encode(body)) : .string(String(decoding: body, as: UTF8.self))
                }
            default:
                if !body.isEmpty { params[payload] = try structuredBody(body, shape: payloadShape) }
            }
        } else if !body.isEmpty {
            guard wire == .restJSON else { throw serializationError("\(route.operation) takes no request body") }
            guard case .object(let object) = try parseJSON(body) else { throw serializationError("The request body must be a JSON object") }
            for (k, v) in object {
                if let s = bodyMembers[k] {
                    params[k] = toRPC(v, s)
                } else if members(input).contains(where: { $0.name == k }) {
                    continue  // a member that lives in the URI, query or headers: AWS ignores it in the body
                } else {
                    params[k] = v  // the node's validation names it
                }
            }
        }
        return AWSCall(service: self, operation: route.operation, params: .object(params), isHead: request.method == "HEAD")
    }

    private func structuredBody(_ body: [UInt8], shape shapeName: String) throws -> JSON {
        if wire == .restJSON { return toRPC(try parseJSON(body), shapeName) }
        switch XMLReader.parse(body) {
        case .success(let root): return try fromXML(root, shapeName, path: root.name)
        case .failure(let f): throw serializationError("The XML you provided was not well-formed: \(f.reason) (at byte \(f.offset))")
        }
    }

    private func parseJSON(_ body: [UInt8]) throws -> JSON {
        do { return try JSONParser.parse(body) } catch {
            throw serializationError("The request body is not valid JSON: \(error)")
        }
    }

    // MARK: JSON 1.1

    private func decodeJSON(_ request: HTTPRequest, body: [UInt8]) throws -> AWSCall {
        guard let target = request.header("X-Amz-Target") else { throw AWSWireError("UnknownOperationException", "The X-Amz-Target header is missing: it names the operation (\(targetPrefix ?? "").OPERATION)", status: 400) }
        // The prefix has dots of its own (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`).
        guard let dot = target.lastIndex(of: "."), String(target[..<dot]) == targetPrefix, operations[String(target[target.index(after: dot)...])] != nil else {
            throw AWSWireError("UnknownOperationException", "X-Amz-Target '\(target.prefix(200))' names no \(model.name) operation", status: 400)
        }
        guard request.method == "POST" else { throw AWSWireError("UnknownOperationException", "\(model.name) takes POST requests, not \(request.method)", status: 400) }
        let op = String(target[target.index(after: dot)...])
        let params: JSON = body.isEmpty ? .object([:]) : try parseJSON(body)
        guard case .object = params else { throw serializationError("The request body must be a JSON object") }
        return AWSCall(service: self, operation: op, params: toRPC(params, inputShape(op)), isHead: false)
    }

    // MARK: Query

    private func decodeQuery(_ request: HTTPRequest, body: [UInt8]) throws -> AWSCall {
        var text = request.query
        if !body.isEmpty {
            let type = (request.header("Content-Type") ?? "").lowercased()
            guard type.hasPrefix("application/x-www-form-urlencoded") else {
                throw serializationError("A request body must be application/x-www-form-urlencoded (got '\(type.prefix(80))')")
            }
            text += (text.isEmpty ? "" : "&") + String(decoding: body, as: UTF8.self)
        }
        guard let pairs = PercentCoding.parameters(text, plusIsSpace: true) else { throw serializationError("The request's parameters are not validly percent-encoded") }
        var form: [String: String] = [:]
        for (k, v) in pairs where form[k] == nil { form[k] = v }
        guard let action = form["Action"] else { throw AWSWireError("MissingAction", "The request must contain the parameter Action", status: 400) }
        guard operations[action] != nil else { throw AWSWireError("InvalidAction", "The action \(action.prefix(100)) is not valid for this web service.", status: 400) }
        let params = try queryValue(form, prefix: "", shapeName: inputShape(action)) ?? .object([:])
        return AWSCall(service: self, operation: action, params: params, isHead: false)
    }

    /// A value of `shapeName` from flattened query parameters (`Tags.member.1.Key`).
    private func queryValue(_ form: [String: String], prefix: String, shapeName: String?) throws -> JSON? {
        let s = shape(shapeName)
        switch type(shapeName) {
        case "structure":
            var o: [String: JSON] = [:]
            for (name, spec) in members(shapeName) {
                let key = (prefix.isEmpty ? "" : prefix + ".") + (spec["locationName"]?.stringValue ?? name)
                if let v = try queryValue(form, prefix: key, shapeName: spec["shape"]?.stringValue) { o[name] = v }
            }
            return prefix.isEmpty || !o.isEmpty ? .object(o) : nil
        case "list":
            let itemPrefix = s["flattened"]?.boolValue == true ? prefix : prefix + "." + (s["member"]?["locationName"]?.stringValue ?? "member")
            var items: [JSON] = []
            while items.count < 1000, let v = try queryValue(form, prefix: "\(itemPrefix).\(items.count + 1)", shapeName: s["member"]?["shape"]?.stringValue) {
                items.append(v)
            }
            if items.isEmpty { return form[prefix] == "" ? .array([]) : nil }
            return .array(items)
        case "map":
            let entryPrefix = s["flattened"]?.boolValue == true ? prefix : prefix + ".entry"
            let keyName = s["key"]?["locationName"]?.stringValue ?? "key", valueName = s["value"]?["locationName"]?.stringValue ?? "value"
            var m: [String: JSON] = [:]
            var n = 1
            while n <= 1000, let k = form["\(entryPrefix).\(n).\(keyName)"] {
                m[k] = try queryValue(form, prefix: "\(entryPrefix).\(n).\(valueName)", shapeName: s["value"]?["shape"]?.stringValue) ?? .string("")
                n += 1
            }
            return m.isEmpty ? nil : .object(m)
        default:
            guard let v = form[prefix] else { return nil }
            return try scalar(v, shapeName, member: prefix, defaultFormat: "iso8601")
        }
    }

    // MARK: Values

    /// A member's value from text (a URI label, a query parameter, a header).
    func scalar(_ text: String, _ shapeName: String?, member: String, defaultFormat: String) throws -> JSON {
        switch type(shapeName) {
        case "integer", "long":
            guard let v = Int(text.trimmingCharacters(in: " ")) else { throw invalid("1 validation error detected: Value '\(text.prefix(100))' at '\(member)' failed to satisfy constraint: Member must be an integer") }
            return .int(v)
        case "float", "double":
            guard let v = Double(text), v.isFinite else { throw invalid("1 validation error detected: Value '\(text.prefix(100))' at '\(member)' failed to satisfy constraint: Member must be a number") }
            return .number(v)
        case "boolean":
            switch text.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw invalid("1 validation error detected: Value '\(text.prefix(100))' at '\(member)' failed to satisfy constraint: Member must be true or false")
            }
        case "timestamp":
            let format = shape(shapeName)["timestampFormat"]?.stringValue ?? defaultFormat
            let parsed: Double? = switch format {
            case "rfc822": HTTPDate.parse(text) ?? ISO8601.parse(text)
            case "unixTimestamp": Double(text) ?? ISO8601.parse(text)
            default: ISO8601.parse(text) ?? Double(text) ?? HTTPDate.parse(text)
            }
            guard let parsed, ISO8601.range.contains(parsed) else { throw invalid("1 validation error detected: Value '\(text.prefix(100))' at '\(member)' failed to satisfy constraint: Member must be a timestamp (\(format))") }
            return .number(parsed)
        case "list":
            let item = shape(shapeName)["member"]?["shape"]?.stringValue
            return .array(try text.split(separator: ",").map { try scalar($0.trimmingCharacters(in: " "), item, member: member, defaultFormat: defaultFormat) })
        default:
            return .string(text)
        }
    }

    /// A JSON value as the node takes it: timestamps written as text become epoch seconds.
    func toRPC(_ value: JSON, _ shapeName: String?) -> JSON {
        mapTimestamps(value, shapeName) { v, _ in
            guard case .string(let text) = v else { return v }
            return (ISO8601.parse(text) ?? HTTPDate.parse(text)).map { .number($0) } ?? v
        }
    }

    /// A structure read from an XML element (REST-XML bodies).
    private func fromXML(_ element: XMLElement, _ shapeName: String?, path: String) throws -> JSON {
        let s = shape(shapeName)
        switch type(shapeName) {
        case "structure":
            var o: [String: JSON] = [:]
            for (name, spec) in members(shapeName) {
                let elementName = spec["locationName"]?.stringValue ?? name
                let memberShape = spec["shape"]?.stringValue
                if type(memberShape) == "list" && (shape(memberShape)["flattened"]?.boolValue == true || spec["flattened"]?.boolValue == true) {
                    let items = element.children.filter { $0.name == elementName }
                    if !items.isEmpty {
                        o[name] = .array(try items.map { try fromXML($0, shape(memberShape)["member"]?["shape"]?.stringValue, path: path + "." + name) })
                    }
                } else if let child = element.child(elementName) {
                    o[name] = try fromXML(child, memberShape, path: path + "." + name)
                }
            }
            return .object(o)
        case "list":
            let item = s["member"]?["shape"]?.stringValue
            return .array(try element.children.map { try fromXML($0, item, path: path) })
        case "map":
            var m: [String: JSON] = [:]
            for entry in element.children {
                if let k = entry.child("key")?.text { m[k] = try fromXML(entry.child("value") ?? XMLElement(name: "value"), s["value"]?["shape"]?.stringValue, path: path) }
            }
            return .object(m)
        default:
            return try scalar(element.text, shapeName, member: path, defaultFormat: "iso8601")
        }
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
