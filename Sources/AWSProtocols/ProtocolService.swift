import CleanRoomsModel
import JSON

/// The wire protocol of an AWS service, as its model's `metadata.protocol` names it.
public enum WireProtocol: String, Sendable {
    case restJSON = "rest-json"
    case json
    case query
    case restXML = "rest-xml"

    /// The `Content-Type` of its answers.
    var contentType: String {
        switch self {
        case .restJSON: return "application/json"
        case .json: return "application/x-amz-json-1.1"
        case .query: return "text/xml"
        case .restXML: return "application/xml"
        }
    }
}

/// One service as the HTTP front speaks it: its protocol, how requests find their operation
/// (REST routes, `X-Amz-Target` names, query `Action`s) and the shapes to read and write,
/// all taken from AWS's model of it.
///
/// Guarantees: built once per service from the embedded model; every operation of the model is
/// routable (the node answers the ones it does not serve with `UnknownOperationException`).
public final class ProtocolService: Sendable {
    public let model: ServiceModel
    public let wire: WireProtocol
    /// The credential scope's service (`cleanrooms-ml` for `cleanroomsml`).
    public let signingName: String
    let targetPrefix: String?
    let xmlNamespace: String?
    let routes: [RestRoute]
    /// Structures whose members all travel in the body (no header, status or payload member):
    /// their answer is the result written whole.
    let bodyOnlyShapes: Set<String>
    /// The routes by HTTP method and first path segment (`""` for routes that begin with a
    /// label), most specific first: a request tries a handful, not every route.
    let routesByMethod: [String: [String: [RestRoute]]]
    let shapes: [String: JSON]
    let operations: [String: JSON]
    /// Shapes with a timestamp somewhere inside: the only ones whose values change between the
    /// node's JSON (epoch seconds) and a protocol's text forms.
    let timestampShapes: Set<String>
    /// Every structure's members, sorted once.
    let memberLists: [String: [(name: String, spec: JSON)]]
    /// Every structure's member shapes by member name (for walking values by their shapes).
    let memberShapes: [String: [String: String]]

    init(model: ServiceModel) {
        self.model = model
        let doc = model.document
        let metadata = doc["metadata"] ?? .null
        wire = WireProtocol(rawValue: metadata["protocol"]?.stringValue ?? "json") ?? .json
        signingName = metadata["signingName"]?.stringValue ?? metadata["endpointPrefix"]?.stringValue ?? model.name
        targetPrefix = metadata["targetPrefix"]?.stringValue
        xmlNamespace = metadata["xmlNamespace"]?.stringValue ?? (model.name == "s3" ? "http://s3.amazonaws.com/doc/2006-03-01/" : nil)
        shapes = doc["shapes"]?.objectValue ?? [:]
        operations = doc["operations"]?.objectValue ?? [:]
        timestampShapes = ProtocolService.shapesContainingTimestamps(shapes)
        memberLists = ProtocolService.memberLists(shapes)
        memberShapes = shapes.compactMapValues { s in s["members"]?.objectValue?.compactMapValues { $0["shape"]?.stringValue } }
        var routes: [RestRoute] = []
        if wire == .restJSON || wire == .restXML {
            for (name, op) in operations {
                guard let method = op["http"]?["method"]?.stringValue, let uri = op["http"]?["requestUri"]?.stringValue else { continue }
                routes.append(RestRoute(operation: name, method: method, template: uri))
            }
            // Most specific first: more literal segments and query constraints win.
            routes.sort { ($0.specificity, $0.operation) > ($1.specificity, $1.operation) }
        }
        self.routes = routes
        routesByMethod = Dictionary(grouping: routes, by: \.method).mapValues { sameMethod in
            Dictionary(grouping: sameMethod) { r -> String in if case .literal(let l)? = r.segments.first { return l } else { return "" } }
        }
        bodyOnlyShapes = Set(shapes.filter { _, s in
            s["type"]?.stringValue == "structure" && s["payload"] == nil && (s["members"]?.objectValue ?? [:]).values.allSatisfy { $0["location"] == nil }
        }.keys)
    }

    /// The services the front serves, by their signing name.
    public static let bySigningName: [String: ProtocolService] = {
        var m: [String: ProtocolService] = [:]
        for model in ServiceModel.all.values {
            let s = ProtocolService(model: model)
            m[s.signingName] = s
        }
        return m
    }()

    private static func shapesContainingTimestamps(_ shapes: [String: JSON]) -> Set<String> {
        var found = Set(shapes.filter { $0.value["type"]?.stringValue == "timestamp" }.map(\.key))
        var changed = true
        while changed {
            changed = false
            for (name, s) in shapes where !found.contains(name) {
                var refs = (s["members"]?.objectValue ?? [:]).values.compactMap { $0["shape"]?.stringValue }
                for k in ["member", "key", "value"] { if let r = s[k]?["shape"]?.stringValue { refs.append(r) } }
                if refs.contains(where: found.contains) {
                    found.insert(name)
                    changed = true
                }
            }
        }
        return found
    }

    /// `value` with every timestamp inside it (by its shape) replaced by `convert(value, its
    /// shape)`: the one walk that turns timestamps between the node's epoch seconds and a
    /// protocol's text. Only branches whose shapes hold timestamps are walked.
    func mapTimestamps(_ value: JSON, _ shapeName: String?, _ convert: (JSON, JSON) -> JSON) -> JSON {
        guard let shapeName, timestampShapes.contains(shapeName) else { return value }
        let s = shape(shapeName)
        switch (type(shapeName), value) {
        case ("structure", .object(var o)):
            let shapes = memberShapes[shapeName] ?? [:]
            for (k, v) in o { if let m = shapes[k], timestampShapes.contains(m) { o[k] = mapTimestamps(v, m, convert) } }
            return .object(o)
        case ("list", .array(let a)):
            let item = s["member"]?["shape"]?.stringValue
            return .array(a.map { mapTimestamps($0, item, convert) })
        case ("map", .object(var o)):
            let v = s["value"]?["shape"]?.stringValue
            for (k, x) in o { o[k] = mapTimestamps(x, v, convert) }
            return .object(o)
        case ("timestamp", _):
            return convert(value, s)
        default:
            return value
        }
    }

    // MARK: Model access

    func shape(_ name: String?) -> JSON { name.flatMap { shapes[$0] } ?? .null }

    func type(_ name: String?) -> String { shape(name)["type"]?.stringValue ?? "structure" }

    func inputShape(_ operation: String) -> String? { operations[operation]?["input"]?["shape"]?.stringValue }

    func outputShape(_ operation: String) -> String? { operations[operation]?["output"]?["shape"]?.stringValue }

    /// A structure's members in the model's order of names.
    func members(_ shapeName: String?) -> [(name: String, spec: JSON)] {
        guard let shapeName else { return [] }
        return memberLists[shapeName] ?? []
    }

    private static func memberLists(_ shapes: [String: JSON]) -> [String: [(name: String, spec: JSON)]] {
        shapes.compactMapValues { s in
            s["members"]?.objectValue.map { $0.sorted { $0.key < $1.key }.map { (name: $0.key, spec: $0.value) } }
        }
    }
}
