import JSON
import Synchronization

extension ServiceModel {
    /// Validates `params` against an operation's input shape. Throws the service's validation
    /// error, in AWS's wording (`1 validation error detected: Value '…' at 'name' failed to
    /// satisfy constraint: …`), naming every member at fault (up to ten).
    public func validateInput(operation: String, _ params: JSON) throws(AWSError) {
        guard let op = operations[operation] else {
            throw AWSError(validationError, "\(name) has no operation \(operation)")
        }
        guard let input = op.inputShape else {
            if case .object(let o) = params, !o.isEmpty {
                throw AWSError(validationError, "Unknown parameter in input: \"\(o.keys.sorted()[0])\", \(operation) takes no parameters")
            }
            return
        }
        var v = ValidationRun(model: self)
        v.check(params, shapeName: input, path: "")
        if let e = v.error(code: validationError) { throw e }
    }

    /// Validates a response against an operation's output shape (tests use it to hold every
    /// handler to AWS's shapes). Unknown members are errors here too.
    public func validateOutput(operation: String, _ result: JSON) throws(AWSError) {
        guard let op = operations[operation] else { throw AWSError(validationError, "no operation \(operation)") }
        guard let output = op.outputShape else {
            if case .object(let o) = result, o.isEmpty { return }
            throw AWSError(validationError, "\(operation) returns nothing, got \(result)")
        }
        var v = ValidationRun(model: self)
        v.check(result, shapeName: output, path: "")
        if let e = v.error(code: validationError) { throw e }
    }

    /// Whether `value` matches `pattern` whole. Answers are remembered (a bounded memo, cleared
    /// when full): nodes see the same ARNs and names again and again, and a regular-expression
    /// match costs far more than a lookup.
    static func matches(_ value: String, pattern: String) -> Bool {
        let key = MatchKey(pattern: pattern, value: value)
        if let known = matchMemo.withLock({ $0[key] }) { return known }
        let ok = regex(pattern).map { (try? $0.wholeMatch(in: value)) != nil } ?? true
        if value.utf8.count <= 2048 {
            matchMemo.withLock { memo in
                if memo.count >= 8192 { memo.removeAll(keepingCapacity: true) }
                memo[key] = ok
            }
        }
        return ok
    }

    /// The compiled regular expression of a pattern, cached for the life of the process.
    static func regex(_ pattern: String) -> Regex<AnyRegexOutput>? {
        if let r = regexCache.withLock({ $0[pattern] }) { return r.regex }
        let compiled = try? Regex(pattern)
        regexCache.withLock { $0[pattern] = CachedRegex(regex: compiled) }
        return compiled
    }
}

private struct CachedRegex: @unchecked Sendable {
    // Regex values are immutable once built; sharing them across threads is safe.
    let regex: Regex<AnyRegexOutput>?
}

private let regexCache = Mutex<[String: CachedRegex]>([:])

private struct MatchKey: Hashable {
    let pattern: String
    let value: String
}

private let matchMemo = Mutex<[MatchKey: Bool]>([:])

/// One validation pass, collecting the errors it finds.
private struct ValidationRun {
    let model: ServiceModel
    var errors: [String] = []
    var count = 0

    init(model: ServiceModel) { self.model = model }

    mutating func add(_ message: String) {
        count += 1
        if errors.count < 10 { errors.append(message) }
    }

    func error(code: AWSErrorCode) -> AWSError? {
        guard count > 0 else { return nil }
        let plural = count == 1 ? "error" : "errors"
        return AWSError(code, "\(count) validation \(plural) detected: " + errors.joined(separator: "; "))
    }

    static func show(_ v: JSON) -> String {
        var s: String
        switch v {
        case .string(let t): s = t
        default: s = JSONWriter.string(v)
        }
        if s.count > 100 { s = String(s.prefix(100)) + "…" }
        return s
    }

    func at(_ path: String) -> String { path.isEmpty ? "the request" : "'\(path)'" }

    mutating func mismatch(_ value: JSON, _ path: String, _ expected: String) {
        add("Value \(ValidationRun.show(value)) at \(at(path)) failed to satisfy constraint: Member must be \(expected), got \(value.typeName)")
    }

    mutating func length(_ n: Int, _ shape: Shape, _ value: JSON, _ path: String) {
        if let min = shape.min, Double(n) < min {
            add("Value '\(ValidationRun.show(value))' at \(at(path)) failed to satisfy constraint: Member must have length greater than or equal to \(Int(min))")
        }
        if let max = shape.max, Double(n) > max {
            add("Value '\(ValidationRun.show(value))' at \(at(path)) failed to satisfy constraint: Member must have length less than or equal to \(Int(max))")
        }
    }

    mutating func check(_ value: JSON, shapeName: String, path: String) {
        guard let shape = model.shapes[shapeName] else { return }
        switch shape.type {
        case .structure:
            guard case .object(let o) = value else { return mismatch(value, path, "an object") }
            for key in o.keys.sorted() where shape.memberIndex[key] == nil {
                let known = shape.members.map(\.name).joined(separator: ", ")
                add("Unknown parameter in input: \"\(path.isEmpty ? key : path + "." + key)\", must be one of: \(known)")
            }
            for m in shape.members {
                let p = path.isEmpty ? m.name : "\(path).\(m.name)"
                if let v = o[m.name], !v.isNull {
                    check(v, shapeName: m.shape, path: p)
                } else if shape.required.contains(m.name) {
                    add("Value null at '\(p)' failed to satisfy constraint: Member must not be null")
                }
            }
        case .list:
            guard case .array(let items) = value else { return mismatch(value, path, "a list") }
            length(items.count, shape, value, path)
            if let member = shape.listMember {
                for (k, item) in items.enumerated() { check(item, shapeName: member, path: "\(path).\(k + 1).member") }
            }
        case .map:
            guard case .object(let o) = value else { return mismatch(value, path, "a map (JSON object)") }
            length(o.count, shape, value, path)
            for key in o.keys.sorted() {
                if let ks = shape.mapKey { check(.string(key), shapeName: ks, path: "\(path).key(\(key))") }
                if let vs = shape.mapValue { check(o[key]!, shapeName: vs, path: "\(path).\(key)") }
            }
        case .string:
            guard case .string(let s) = value else { return mismatch(value, path, "a string") }
            if let allowed = shape.enumValues, !allowed.contains(s) {
                add("Value '\(ValidationRun.show(value))' at \(at(path)) failed to satisfy constraint: Member must satisfy enum value set: [\(allowed.sorted().joined(separator: ", "))]")
                return
            }
            length(s.unicodeScalars.count, shape, value, path)
            if let pattern = shape.pattern, !ServiceModel.matches(s, pattern: pattern) {
                add("Value '\(ValidationRun.show(value))' at \(at(path)) failed to satisfy constraint: Member must satisfy regular expression pattern: \(pattern)")
            }
        case .integer, .long:
            guard case .number(let n) = value, n.rounded() == n else { return mismatch(value, path, "an integer") }
            range(n, shape, path)
        case .double, .float:
            guard case .number(let n) = value else { return mismatch(value, path, "a number") }
            range(n, shape, path)
        case .boolean:
            guard case .bool = value else { return mismatch(value, path, "a boolean") }
        case .timestamp:
            switch value {
            case .number(let n) where ISO8601.range.contains(n): break
            case .number: add("Value \(JSONWriter.string(value)) at \(at(path)) failed to satisfy constraint: Member must be a timestamp between years 1 and 9999")
            case .string(let s) where s.first?.isNumber == true: break
            default: mismatch(value, path, "a timestamp (epoch seconds)")
            }
        case .blob:
            guard case .string(let s) = value else { return mismatch(value, path, "base64 text") }
            if Base64.decode(s) == nil { add("Value at \(at(path)) failed to satisfy constraint: Member must be valid base64") }
        }
    }

    mutating func range(_ n: Double, _ shape: Shape, _ path: String) {
        let shown = JSONWriter.string(.number(n))
        if let min = shape.min, n < min {
            add("Value '\(shown)' at \(at(path)) failed to satisfy constraint: Member must have value greater than or equal to \(JSONWriter.string(.number(min)))")
        }
        if let max = shape.max, n > max {
            add("Value '\(shown)' at \(at(path)) failed to satisfy constraint: Member must have value less than or equal to \(JSONWriter.string(.number(max)))")
        }
    }
}
