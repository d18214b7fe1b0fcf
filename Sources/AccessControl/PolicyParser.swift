import CleanRoomsModel
import JSON

extension PolicyDocument {
    /// Parses, validates and compiles a policy document of the given kind.
    ///
    /// Every rule of IAM's grammar is checked here; the first violation found is thrown as a
    /// `MalformedPolicyDocument` naming the statement and element. Checks run in IAM's order
    /// where that is known: structure ("Syntax errors in policy."), then legacy parsing
    /// (effect case, typed condition values), then Sid uniqueness, actions, resources, resource
    /// formats and action formats.
    public init(parsing text: String, kind: PolicyKind) throws(MalformedPolicyDocument) {
        var p = PolicyParser(kind: kind)
        self = try p.parse(text)
    }

    /// Size of a policy as IAM counts it against its quotas, which ignore all white space.
    public static func quotaSize(of text: String) -> Int {
        text.unicodeScalars.reduce(0) { n, s in
            switch s {
            case " ", "\t", "\n", "\r": return n
            default: return n + 1
            }
        }
    }
}

/// The parser's working state; one per document.
private struct PolicyParser {
    let kind: PolicyKind
    var version = PolicyVersion.v2008_10_17
    var spans: [[JSONPathComponent]: JSONSpan] = [:]

    init(kind: PolicyKind) { self.kind = kind }

    /// A statement still in JSON form with its location, validated in stages.
    struct RawStatement {
        var number: Int  // 1-based
        var object: [String: JSON]
        var span: JSONSpan?
        var sid: String? { object["Sid"]?.stringValue }
    }

    func fail(_ reason: String, _ st: RawStatement? = nil, element: String? = nil, detail: String? = nil) -> MalformedPolicyDocument {
        MalformedPolicyDocument(reason: reason, statement: st?.number, sid: st?.sid, element: element, detail: detail, position: st?.span?.start)
    }

    mutating func parse(_ text: String) throws(MalformedPolicyDocument) -> PolicyDocument {
        let root: JSON
        do {
            (root, spans) = try JSONParser(spanDepth: 2).parseWithSpans(Array(text.utf8))
        } catch {
            throw MalformedPolicyDocument(reason: IAMReason.syntax, detail: "not valid JSON: \(error.reason)",
                                          position: JSONPosition(line: error.line, column: error.column))
        }
        guard case .object(let top) = root else {
            throw fail(IAMReason.syntax, detail: "the policy must be a JSON object, not \(root.typeName)")
        }
        for key in top.keys.sorted() where !["Version", "Id", "Statement"].contains(key) {
            throw fail(IAMReason.syntax, element: key, detail: "unknown top-level element; expected Version, Id and Statement")
        }
        if let v = top["Version"] {
            guard let s = v.stringValue, let parsed = PolicyVersion(rawValue: s) else {
                throw fail(IAMReason.syntax, element: "Version", detail: "must be \"2012-10-17\" or \"2008-10-17\", got \(v)")
            }
            version = parsed
        }
        if let id = top["Id"], id.stringValue == nil {
            throw fail(IAMReason.syntax, element: "Id", detail: "must be a string, got \(id.typeName)")
        }
        let raws = try rawStatements(top["Statement"])

        // Stage 1: structure of every statement.
        for st in raws { try checkStructure(st) }
        // Stage 2: what IAM's legacy parser rejects.
        for st in raws { try checkLegacy(st) }
        // Stage 3: principals for this kind of policy.
        for st in raws { try checkPrincipalPresence(st) }
        // Stage 4: Sids.
        var seen = Set<String>()
        for st in raws {
            guard let sid = st.sid, !sid.isEmpty else { continue }
            if kind != .resource, !sid.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."z").contains($0) || ("A"..."Z").contains($0) }) {
                throw fail(IAMReason.alphanumericSid, st, element: "Sid")
            }
            if !seen.insert(sid).inserted { throw fail(IAMReason.uniqueSid, st, element: "Sid", detail: "\"\(sid)\" appears more than once") }
        }
        // Stage 5: actions and resources present.
        for st in raws where kind == .trust {
            if st.object["Resource"] != nil || st.object["NotResource"] != nil {
                throw fail(IAMReason.trustResource, st, element: st.object["Resource"] != nil ? "Resource" : "NotResource")
            }
            for a in strings(st.object["Action"] ?? st.object["NotAction"]) where !PolicyParser.trustActions.contains(a.lowercased()) {
                throw fail(IAMReason.trustActions, st, element: "Action", detail: "\"\(a)\"")
            }
        }
        for st in raws {
            let actions = st.object["Action"] ?? st.object["NotAction"]
            if actions == nil || actions?.arrayValue?.isEmpty == true {
                throw fail(IAMReason.actionsRequired, st, element: "Action")
            }
            let resources = st.object["Resource"] ?? st.object["NotResource"]
            if kind != .serviceControl && kind != .trust, resources == nil || resources?.arrayValue?.isEmpty == true {
                throw fail(IAMReason.resourcesRequired, st, element: "Resource")
            }
        }
        // Stage 6: compile (resource formats, action formats, principals, conditions).
        var statements: [Statement] = []
        for st in raws { statements.append(try compile(st)) }
        return PolicyDocument(version: version, id: top["Id"]?.stringValue, statements: statements, kind: kind)
    }

    func rawStatements(_ value: JSON?) throws(MalformedPolicyDocument) -> [RawStatement] {
        guard let value else { throw fail(IAMReason.syntax, element: "Statement", detail: "the policy has no Statement") }
        switch value {
        case .object(let o):
            return [RawStatement(number: 1, object: o, span: spans[[.key("Statement")]])]
        case .array(let items):
            if items.isEmpty { throw fail(IAMReason.syntax, element: "Statement", detail: "the Statement list is empty") }
            var out: [RawStatement] = []
            for (k, item) in items.enumerated() {
                let span = spans[[.key("Statement"), .index(k)]]
                guard case .object(let o) = item else {
                    throw MalformedPolicyDocument(reason: IAMReason.syntax, statement: k + 1, detail: "a statement must be a JSON object, not \(item.typeName)", position: span?.start)
                }
                out.append(RawStatement(number: k + 1, object: o, span: span))
            }
            return out
        default:
            throw fail(IAMReason.syntax, element: "Statement", detail: "must be an object or a list of objects, not \(value.typeName)")
        }
    }

    static let trustActions: Set<String> = ["sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession", "sts:setsourceidentity", "sts:*"]

    static let statementKeys: Set<String> = ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"]

    func checkStructure(_ st: RawStatement) throws(MalformedPolicyDocument) {
        let o = st.object
        for key in o.keys.sorted() where !PolicyParser.statementKeys.contains(key) {
            throw fail(IAMReason.syntax, st, element: key, detail: "unknown element; a statement has Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource and Condition")
        }
        if let sid = o["Sid"], sid.stringValue == nil {
            throw fail(IAMReason.syntax, st, element: "Sid", detail: "must be a string, got \(sid.typeName)")
        }
        guard let effect = o["Effect"] else { throw fail(IAMReason.syntax, st, element: "Effect", detail: "the statement has no Effect") }
        guard let e = effect.stringValue, ["allow", "deny"].contains(e.lowercased()) else {
            throw fail(IAMReason.syntax, st, element: "Effect", detail: "must be \"Allow\" or \"Deny\", got \(effect)")
        }
        for (a, b) in [("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal")] where o[a] != nil && o[b] != nil {
            throw fail(IAMReason.syntax, st, element: b, detail: "a statement cannot have both \(a) and \(b)")
        }
        for key in ["Action", "NotAction", "Resource", "NotResource"] {
            guard let v = o[key] else { continue }
            switch v {
            case .string: break
            case .array(let items) where items.allSatisfy({ $0.stringValue != nil }): break
            default: throw fail(IAMReason.syntax, st, element: key, detail: "must be a string or a list of strings")
            }
        }
        if let c = o["Condition"] {
            guard case .object(let ops) = c else { throw fail(IAMReason.syntax, st, element: "Condition", detail: "must be an object of operators") }
            for (opName, block) in ops.sorted(by: { $0.key < $1.key }) {
                guard ConditionOperator(opName) != nil else {
                    throw fail(IAMReason.syntax, st, element: "Condition", detail: "unknown condition operator \"\(opName)\"")
                }
                guard case .object(let keys) = block else {
                    throw fail(IAMReason.syntax, st, element: "Condition", detail: "the block of \(opName) must be an object of condition keys")
                }
                for (key, values) in keys.sorted(by: { $0.key < $1.key }) {
                    let list = values.arrayValue ?? [values]
                    if list.isEmpty {
                        throw fail(IAMReason.syntax, st, element: "Condition", detail: "\(opName) \(key) has no values")
                    }
                    for v in list {
                        switch v {
                        case .string, .number, .bool: break
                        default:
                            throw fail(IAMReason.syntax, st, element: "Condition", detail: "\(opName) \(key): values must be strings, numbers or booleans, got \(v.typeName)")
                        }
                    }
                }
            }
        }
        for key in ["Principal", "NotPrincipal"] {
            guard let v = o[key] else { continue }
            switch v {
            case .string("*"): break
            case .object(let m):
                if m.isEmpty { throw fail(IAMReason.syntax, st, element: key, detail: "names no principal") }
                for (type, value) in m.sorted(by: { $0.key < $1.key }) {
                    guard ["AWS", "Service", "Federated", "CanonicalUser"].contains(type) else {
                        throw fail(IAMReason.syntax, st, element: key, detail: "unknown principal type \"\(type)\"; expected AWS, Service, Federated or CanonicalUser")
                    }
                    let list = value.arrayValue ?? [value]
                    if list.isEmpty || !list.allSatisfy({ $0.stringValue != nil }) {
                        throw fail(IAMReason.syntax, st, element: key, detail: "\(type) must be a string or a non-empty list of strings")
                    }
                }
            default:
                throw fail(IAMReason.syntax, st, element: key, detail: "must be \"*\" or an object such as {\"AWS\": \"123456789012\"}")
            }
        }
    }

    func checkLegacy(_ st: RawStatement) throws(MalformedPolicyDocument) {
        let effect = st.object["Effect"]!.stringValue!
        if Effect(rawValue: effect) == nil {
            throw fail(IAMReason.legacy, st, element: "Effect", detail: "\"\(effect)\" must be written \"Allow\" or \"Deny\" (case-sensitive)")
        }
        guard case .object(let ops)? = st.object["Condition"] else { return }
        for (opName, block) in ops.sorted(by: { $0.key < $1.key }) {
            let op = ConditionOperator(opName)!
            for (key, values) in (block.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                for v in values.arrayValue ?? [values] {
                    let text = PolicyParser.conditionText(v)
                    if typedValue(op.base, text) == nil {
                        throw fail(IAMReason.legacy, st, element: "Condition", detail: "\(opName) \(key): \"\(text)\" is not \(PolicyParser.expected(op.base))")
                    }
                }
            }
        }
    }

    static func conditionText(_ v: JSON) -> String {
        switch v {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number: return JSONWriter.string(v)
        default: return ""
        }
    }

    static func expected(_ base: ConditionOperator.Base) -> String {
        switch base.valueKind {
        case .number: return "a number"
        case .date: return "an ISO 8601 date or epoch seconds"
        case .bool, .null: return "true or false"
        case .ip: return "an IP address or CIDR block"
        default: return "valid"
        }
    }

    /// Parses a condition value for its operator's type; `nil` if it is not a value of it.
    func typedValue(_ base: ConditionOperator.Base, _ text: String) -> ConditionValue? {
        switch base.valueKind {
        case .number: return ConditionValueTypes.number(text).map { .number($0) }
        case .date: return ConditionValueTypes.date(text).map { .date($0) }
        case .bool: return ConditionValueTypes.bool(text).map { .bool($0) }
        case .null: return ConditionValueTypes.bool(text).map { .null($0) }
        case .ip: return ConditionValueTypes.cidr(text).map { .cidr($0) }
        case .binary, .string, .arn: return .literal(text)  // string and ARN values are compiled later, with variables
        }
    }

    func checkPrincipalPresence(_ st: RawStatement) throws(MalformedPolicyDocument) {
        let hasPrincipal = st.object["Principal"] != nil || st.object["NotPrincipal"] != nil
        if kind.requiresPrincipal {
            if !hasPrincipal { throw fail(IAMReason.principalRequired, st, element: "Principal") }
            if st.object["NotPrincipal"] != nil, st.object["Effect"]?.stringValue == "Allow" {
                throw fail(IAMReason.syntax, st, element: "NotPrincipal", detail: "NotPrincipal is supported only with \"Effect\": \"Deny\"")
            }
        } else if hasPrincipal {
            throw fail(IAMReason.noPrincipalAllowed, st, element: st.object["Principal"] != nil ? "Principal" : "NotPrincipal")
        }
    }

    // MARK: Compilation

    func strings(_ v: JSON?) -> [String] {
        guard let v else { return [] }
        if let s = v.stringValue { return [s] }
        return (v.arrayValue ?? []).compactMap(\.stringValue)
    }

    func compile(_ st: RawStatement) throws(MalformedPolicyDocument) -> Statement {
        let o = st.object
        let resourceKey = o["Resource"] != nil ? "Resource" : "NotResource"
        var resources: [ResourcePattern] = []
        for r in strings(o[resourceKey]) { resources.append(try compileResource(r, st, element: resourceKey)) }
        if o[resourceKey] == nil { resources = [ResourcePattern(template: PolicyTemplate(literal: "*"))] }  // SCP default

        let actionKey = o["Action"] != nil ? "Action" : "NotAction"
        var actions: [Glob] = []
        for a in strings(o[actionKey]) { actions.append(try compileAction(a, st, element: actionKey)) }

        var principals: PrincipalMatcher? = nil
        if let key = o["Principal"] != nil ? "Principal" : (o["NotPrincipal"] != nil ? "NotPrincipal" : nil) {
            principals = PrincipalMatcher(negated: key == "NotPrincipal", entries: try compilePrincipal(o[key]!, st, element: key))
        }

        var conditions: [ConditionClause] = []
        if case .object(let ops)? = o["Condition"] {
            for (opName, block) in ops.sorted(by: { $0.key < $1.key }) {
                let op = ConditionOperator(opName)!
                for (key, values) in (block.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    guard key.contains(":") else {
                        throw fail(IAMReason.vendorPrefix, st, element: "Condition", detail: "condition key \"\(key)\" has no service prefix such as aws: or cleanrooms-ml:")
                    }
                    var compiled: [ConditionValue] = []
                    for v in values.arrayValue ?? [values] {
                        compiled.append(try compileConditionValue(op, PolicyParser.conditionText(v), st))
                    }
                    conditions.append(ConditionClause(op: op, key: key.lowercased(), keyAsWritten: key, values: compiled))
                }
            }
        }

        return Statement(
            index: st.number - 1, sid: st.sid, effect: Effect(rawValue: o["Effect"]!.stringValue!)!, span: st.span,
            principals: principals,
            actions: ActionMatcher(negated: actionKey == "NotAction", patterns: actions),
            resources: ResourceMatcher(negated: o["NotResource"] != nil, patterns: resources),
            conditions: conditions)
    }

    func compileAction(_ a: String, _ st: RawStatement, element: String) throws(MalformedPolicyDocument) -> Glob {
        if a == "*" { return Glob("*", caseInsensitive: true) }
        let parts = a.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count < 2 { throw fail(IAMReason.vendorPrefix, st, element: element, detail: "\"\(a)\" has no service prefix; write it as service:Action, for example cleanrooms-ml:StartAudienceGenerationJob") }
        if parts.count > 2 { throw fail(IAMReason.oneColon, st, element: element, detail: "\"\(a)\"") }
        let vendor = parts[0]
        if vendor.isEmpty || !vendor.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "." }) {
            throw fail(IAMReason.vendorInvalid(String(vendor)), st, element: element, detail: "in action \"\(a)\"")
        }
        if parts[1].isEmpty { throw fail(IAMReason.syntax, st, element: element, detail: "\"\(a)\" names no action after the colon") }
        return Glob(a, caseInsensitive: true)
    }

    static let partitions: Set<String> = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc", "*"]
    static let iamResourcePrefixes = ["user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/", "server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/", "report/", "access-report/"]

    func compileResource(_ r: String, _ st: RawStatement, element: String) throws(MalformedPolicyDocument) -> ResourcePattern {
        let template: PolicyTemplate
        do {
            template = try PolicyTemplate(r, variables: version.supportsVariables)
        } catch {
            throw fail(IAMReason.syntax, st, element: element, detail: error.reason)
        }
        if r == "*" { return ResourcePattern(template: template) }
        guard r.contains(":") else { throw fail(IAMReason.arnFormat(r), st, element: element) }
        let parts = r.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        guard parts[0] == "arn" || parts[0] == "*" else { throw fail(IAMReason.arnFormat(r), st, element: element) }
        let partition = parts[1]
        if !PolicyParser.partitions.contains(partition) && !partition.contains("*") && !partition.contains("?") {
            let filled = (parts + Array(repeating: "*", count: max(0, 6 - parts.count)))[1...].joined(separator: ":")
            throw fail(IAMReason.partition(partition, "arn:\(filled)"), st, element: element)
        }
        guard parts.count >= 3, !parts[2].isEmpty else { throw fail(IAMReason.vendorRegex, st, element: element, detail: "\"\(r)\" names no service") }
        let service = parts[2]
        if service.contains("*") || service.contains("?") {
            throw fail(IAMReason.vendorRegex, st, element: element, detail: "\"\(r)\" has a wildcard in its service part")
        }
        // Variables may stand only in the resource part.
        if template.hasVariables, parts.count < 6 || parts.prefix(5).contains(where: { $0.contains("${") }) {
            throw fail(IAMReason.syntax, st, element: element, detail: "\"\(r)\": \(IAMReason.variableOutsideResource)")
        }
        if parts.count < 6, !(parts.last?.hasSuffix("*") ?? false) {
            throw fail(IAMReason.legacy, st, element: element, detail: "\"\(r)\" is not a full ARN (arn:partition:service:region:account:resource)")
        }
        if parts.count == 6 {
            if service == "iam" {
                if !parts[3].isEmpty { throw fail(IAMReason.iamRegion(r), st, element: element) }
                let res = parts[5]
                if res != "*" && res != "root" && !PolicyParser.iamResourcePrefixes.contains(where: { res.hasPrefix($0) }) && !res.hasPrefix("*") {
                    throw fail(IAMReason.iamPath, st, element: element, detail: "\"\(r)\"")
                }
            }
            if service == "s3", !parts[3].isEmpty, !parts[5].hasPrefix("accesspoint/") {
                throw fail(IAMReason.s3Region(r), st, element: element)
            }
        }
        return ResourcePattern(template: template)
    }

    func compilePrincipal(_ v: JSON, _ st: RawStatement, element: String) throws(MalformedPolicyDocument) -> [PrincipalEntry] {
        if v == .string("*") { return [.anyone] }
        var out: [PrincipalEntry] = []
        for (type, value) in (v.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            for item in strings(value) {
                switch type {
                case "AWS":
                    if item == "*" { out.append(.anyAWS); continue }
                    if AccountID(item) != nil { out.append(.account(item)); continue }
                    guard let arn = ARN(item), let account = arn.accountID, arn.service == "iam" || arn.service == "sts" else {
                        throw fail(IAMReason.invalidPrincipal("AWS", item), st, element: element, detail: "expected an account id, an account root ARN, or a user or role ARN")
                    }
                    if item.contains("*") || item.contains("?") {
                        throw fail(IAMReason.invalidPrincipal("AWS", item), st, element: element, detail: "wildcards cannot match part of a principal")
                    }
                    if arn.service == "iam", arn.resource == "root" {
                        out.append(.account(account.rawValue))
                    } else if (arn.service == "iam" && (arn.resource.hasPrefix("user/") || arn.resource.hasPrefix("role/")))
                                || (arn.service == "sts" && arn.resource.hasPrefix("assumed-role/")) {
                        out.append(.arn(item))
                    } else {
                        throw fail(IAMReason.invalidPrincipal("AWS", item), st, element: element, detail: "expected an account id, an account root ARN, or a user or role ARN")
                    }
                case "Service":
                    guard item != "*", !item.isEmpty, !item.contains(" ") else {
                        throw fail(IAMReason.invalidPrincipal("Service", item), st, element: element, detail: "a service principal is a name such as cleanrooms-ml.amazonaws.com")
                    }
                    out.append(.service(item))
                default:
                    out.append(.other(type: type, value: item))
                }
            }
        }
        return out
    }

    func compileConditionValue(_ op: ConditionOperator, _ text: String, _ st: RawStatement) throws(MalformedPolicyDocument) -> ConditionValue {
        switch op.base.valueKind {
        case .string:
            let t: PolicyTemplate
            do { t = try PolicyTemplate(text, variables: version.supportsVariables) } catch {
                throw fail(IAMReason.syntax, st, element: "Condition", detail: error.reason)
            }
            let like = op.base == .stringLike || op.base == .stringNotLike
            if t.hasVariables { return like ? .likeTemplate(t) : .template(t) }
            return like ? .like(Glob(units: t.globUnits(nil) ?? [], caseInsensitive: false)) : .literal(t.render(nil) ?? text)
        case .arn:
            let t: PolicyTemplate
            do { t = try PolicyTemplate(text, variables: version.supportsVariables) } catch {
                throw fail(IAMReason.syntax, st, element: "Condition", detail: error.reason)
            }
            if t.hasVariables { return .arnTemplate(t) }
            return .arn(ARNPattern(units: t.globUnits(nil) ?? [], mode: .condition))
        default:
            return typedValue(op.base, text)!  // checkLegacy proved it parses
        }
    }
}

extension PolicyTemplate {
    /// A template that is only literal text (no variables, no escapes).
    init(literal text: String) {
        self = try! PolicyTemplate(text, variables: false)
    }
}
