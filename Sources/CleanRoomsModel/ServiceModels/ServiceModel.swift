import JSON

/// The generated model texts live in `Generated/` (see `scripts/gen-service-models.py`).
enum ServiceModelSource {}

/// One AWS service's API as its botocore model describes it: operations, shapes, constraints.
///
/// Parsed once, on first use, from the embedded model text. Every request a node serves is
/// validated against its operation's input shape here, so member names, types, lengths,
/// patterns and enums are AWS's own, and every error names the member at fault.
public final class ServiceModel: Sendable {
    public let name: String
    public let endpointPrefix: String
    public let serviceProtocol: String
    public let operations: [String: Operation]
    let shapes: [String: Shape]
    /// The whole model as botocore publishes it (documentation stripped): what the HTTP
    /// protocols read their member locations, URIs and formats from.
    public let document: JSON

    /// The error type a request that fails validation gets in this service.
    public let validationError: AWSErrorCode

    public struct Operation: Sendable {
        public let name: String
        public let inputShape: String?
        public let outputShape: String?
        public let errors: [String]
    }

    init(name: String, text: String) {
        let json: JSON
        do { json = try JSONParser.parse(text) } catch { fatalError("embedded model \(name) is not JSON: \(error)") }
        self.name = name
        document = json
        endpointPrefix = json["metadata"]?["endpointPrefix"]?.stringValue ?? name
        serviceProtocol = json["metadata"]?["protocol"]?.stringValue ?? "json"
        var ops: [String: Operation] = [:]
        for (opName, op) in json["operations"]?.objectValue ?? [:] {
            ops[opName] = Operation(name: opName, inputShape: op["input"]?["shape"]?.stringValue, outputShape: op["output"]?["shape"]?.stringValue,
                                    errors: (op["errors"]?.arrayValue ?? []).compactMap { $0["shape"]?.stringValue })
        }
        operations = ops
        var shapes: [String: Shape] = [:]
        for (shapeName, s) in json["shapes"]?.objectValue ?? [:] { shapes[shapeName] = Shape(s) }
        self.shapes = shapes
        switch name {
        case "iam", "sts": validationError = AWSErrorCode("ValidationError", 400)
        case "s3": validationError = AWSErrorCode("InvalidArgument", 400)
        case "glue": validationError = .glueInvalidInput
        case "cloudtrail", "organizations": validationError = AWSErrorCode("InvalidParameterException", 400)
        default: validationError = .validation
        }
    }

    /// The models this project serves, by the service part of a method name (`iam` in `iam.GetUser`).
    public static let all: [String: ServiceModel] = {
        var m: [String: ServiceModel] = [:]
        for (name, text) in [
            ("cleanroomsml", ServiceModelSource.cleanroomsml), ("cleanrooms", ServiceModelSource.cleanrooms),
            ("iam", ServiceModelSource.iam), ("sts", ServiceModelSource.sts), ("s3", ServiceModelSource.s3),
            ("glue", ServiceModelSource.glue), ("cloudtrail", ServiceModelSource.cloudtrail),
            ("organizations", ServiceModelSource.organizations),
        ] {
            m[name] = ServiceModel(name: name, text: text)
        }
        return m
    }()

    public static func named(_ service: String) -> ServiceModel? { all[service] }

    /// The member names of a structure shape (for help texts and tests).
    public func members(of shapeName: String) -> [String] {
        guard let s = shapes[shapeName], s.type == .structure else { return [] }
        return s.members.map(\.name)
    }

    public func requiredMembers(of shapeName: String) -> Set<String> {
        shapes[shapeName]?.required ?? []
    }

    /// A structure's members as a person reads them: `Name  type (required)`, enums' values,
    /// lists' element types, one line each, in name order.
    public func describeMembers(of shapeName: String) -> [String] {
        guard let s = shapes[shapeName], s.type == .structure else { return [] }
        return s.members.map { m in
            "\(m.name)  \(describe(m.shape))\(s.required.contains(m.name) ? " (required)" : "")"
        }
    }

    private func describe(_ shapeName: String, depth: Int = 0) -> String {
        guard let s = shapes[shapeName] else { return shapeName }
        switch s.type {
        case .list: return "list of " + (depth < 2 ? describe(s.listMember ?? "", depth: depth + 1) : "…")
        case .map: return "map of \(describe(s.mapKey ?? "", depth: depth + 1)) to \(depth < 2 ? describe(s.mapValue ?? "", depth: depth + 1) : "…")"
        case .structure: return "structure \(shapeName) {\(s.members.map(\.name).joined(separator: ", "))}"
        case .string:
            if let e = s.enumValues { return "string, one of " + e.sorted().joined(separator: " | ") }
            return "string"
        default: return s.type.rawValue
        }
    }
}

/// A shape and its constraints.
struct Shape: Sendable {
    enum Kind: String, Sendable {
        case structure, list, map, string, integer, long, double, float, boolean, timestamp, blob
    }

    struct Member: Sendable {
        let name: String
        let shape: String
    }

    let type: Kind
    let members: [Member]
    let memberIndex: [String: String]
    let required: Set<String>
    let min: Double?
    let max: Double?
    let pattern: String?
    let enumValues: Set<String>?
    let listMember: String?
    let mapKey: String?
    let mapValue: String?
    let isException: Bool

    init(_ j: JSON) {
        type = Kind(rawValue: j["type"]?.stringValue ?? "structure") ?? .structure
        var ms: [Member] = []
        for (name, m) in (j["members"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            ms.append(Member(name: name, shape: m["shape"]?.stringValue ?? ""))
        }
        members = ms
        memberIndex = Dictionary(uniqueKeysWithValues: ms.map { ($0.name, $0.shape) })
        required = Set((j["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        min = j["min"]?.numberValue
        max = j["max"]?.numberValue
        pattern = j["pattern"]?.stringValue
        enumValues = j["enum"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) }
        listMember = j["member"]?["shape"]?.stringValue
        mapKey = j["key"]?["shape"]?.stringValue
        mapValue = j["value"]?["shape"]?.stringValue
        isException = j["exception"]?.boolValue ?? false
    }
}
