/// Evaluates one condition clause against a request, with IAM's rules:
///
/// - several policy values for the key are ORed (for a negated operator: NOR, i.e. true when
///   no value matches);
/// - an absent key makes the clause false, except: `…IfExists` is true, negated operators are
///   true, `ForAllValues:` is true, and `Null` tests exactly for absence;
/// - `ForAnyValue:` is true when some request value satisfies the operator, `ForAllValues:` when
///   every one does;
/// - a multi-valued key compared without a set operator is a value that equals nothing (positive
///   operators false, negated true);
/// - a policy variable without a value in the request matches nothing;
/// - a request value that is not of the operator's type (a number that does not parse) does not
///   match.
enum ConditionEvaluator {
    static func holds(_ clause: ConditionClause, _ ctx: RequestContext, missing: inout Set<String>?) -> Bool {
        let op = clause.op
        let present = ctx.value(forLowercasedKey: clause.key)

        if op.base == .null {
            let absent = present == nil || present == .list([])
            // Any listed value may hold (ORed): true means "must be absent", false "present".
            return clause.values.contains { if case .null(let wantAbsent) = $0 { return wantAbsent == absent } else { return false } }
        }

        guard let present else {
            missing?.insert(clause.keyAsWritten)
            if op.ifExists { return true }
            switch op.qualifier {
            case .forAllValues?: return true
            case .forAnyValue?: return false
            case nil: return op.base.isNegated
            }
        }

        switch op.qualifier {
        case nil:
            switch present {
            case .single(let v):
                return satisfies(op.base, v, clause.values, ctx)
            case .list(let vs):
                if vs.count == 1 { return satisfies(op.base, vs[0], clause.values, ctx) }
                return op.base.isNegated
            }
        case .forAnyValue?:
            return present.values.contains { satisfies(op.base, $0, clause.values, ctx) }
        case .forAllValues?:
            return present.values.allSatisfy { satisfies(op.base, $0, clause.values, ctx) }
        }
    }

    /// One request value against the policy values: positive operators need some match,
    /// negated operators need none.
    static func satisfies(_ base: ConditionOperator.Base, _ value: String, _ policyValues: [ConditionValue], _ ctx: RequestContext) -> Bool {
        let anyMatch = policyValues.contains { matches(base, value, $0, ctx) }
        return base.isNegated ? !anyMatch : anyMatch
    }

    /// The positive comparison behind `base` (for `StringNotEquals`, "equals").
    static func matches(_ base: ConditionOperator.Base, _ value: String, _ policy: ConditionValue, _ ctx: RequestContext) -> Bool {
        switch policy {
        case .literal(let p):
            switch base {
            case .stringEqualsIgnoreCase, .stringNotEqualsIgnoreCase: return p.lowercased() == value.lowercased()
            default: return p == value  // StringEquals, StringNotEquals, BinaryEquals
            }
        case .template(let t):
            guard let p = t.render(ctx) else { return false }
            return matches(base, value, .literal(p), ctx)
        case .like(let g):
            return g.matches(value)
        case .likeTemplate(let t):
            guard let units = t.globUnits(ctx) else { return false }
            return Glob(units: units, caseInsensitive: false).matches(value)
        case .arn(let pattern):
            return pattern.matches(ResourceName(value))
        case .arnTemplate(let t):
            guard let units = t.globUnits(ctx) else { return false }
            return ARNPattern(units: units, mode: .condition).matches(ResourceName(value))
        case .number(let p):
            guard let v = ConditionValueTypes.number(value) else { return false }
            return compare(base, v, p)
        case .date(let p):
            guard let v = ConditionValueTypes.date(value) else { return false }
            return compare(base, v, p)
        case .bool(let p):
            guard let v = ConditionValueTypes.bool(value) else { return false }
            return v == p
        case .cidr(let block):
            guard let ip = ConditionValueTypes.ipAddress(value) else { return false }
            return block.contains(ip)
        case .null:
            return false
        }
    }

    /// Numeric and date comparisons; negated forms compare for equality and are inverted by
    /// the caller.
    static func compare(_ base: ConditionOperator.Base, _ v: Double, _ p: Double) -> Bool {
        switch base {
        case .numericEquals, .numericNotEquals, .dateEquals, .dateNotEquals: return v == p
        case .numericLessThan, .dateLessThan: return v < p
        case .numericLessThanEquals, .dateLessThanEquals: return v <= p
        case .numericGreaterThan, .dateGreaterThan: return v > p
        case .numericGreaterThanEquals, .dateGreaterThanEquals: return v >= p
        default: return false
        }
    }
}
