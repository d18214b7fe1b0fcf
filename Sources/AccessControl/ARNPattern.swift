/// An ARN pattern, compiled for one of IAM's two ways of matching ARNs.
///
/// - `.resourceElement` (the `Resource`/`NotResource` elements): the partition, service, region
///   and account segments are matched each on its own, so `?` and a `*` inside them never match
///   a colon; a `*` that *ends* a segment may run past the colon (so `arn:aws:s3:*` covers every
///   S3 ARN); the resource part after the fifth colon is one glob where `*` and `?` match
///   anything, colons and slashes included.
/// - `.condition` (`ArnEquals`, `ArnLike` and their negations): the six colon-separated parts
///   are matched one to one, with no expansion across colons; a value that is not a six-part
///   ARN matches nothing.
///
/// A pattern of exactly `*` matches anything in both modes.
struct ARNPattern: Sendable {
    enum Mode: Sendable { case resourceElement, condition }

    enum Form: Sendable {
        case anything
        case whole(Glob)
        /// Globs for partition, service, region, account, resource (`.condition` mode).
        case segments([Glob])
        case never
    }

    let form: Form

    init(units: [GlobUnit], mode: Mode) {
        if units == [.star] {
            form = .anything
            return
        }
        // Split at the first five colons: arn, partition, service, region, account, resource.
        var segments: [[GlobUnit]] = [[]]
        for u in units {
            if u == .byte(UInt8(ascii: ":")) && segments.count < 6 {
                segments.append([])
            } else {
                segments[segments.count - 1].append(u)
            }
        }
        switch mode {
        case .condition:
            guard segments.count == 6, segments[0] == Glob.units("arn") else { form = .never; return }
            form = .segments(segments.dropFirst().map { Glob(units: $0, caseInsensitive: false) })
        case .resourceElement:
            var out: [GlobUnit] = []
            for (k, seg) in segments.enumerated() {
                if k > 0 { out.append(.byte(UInt8(ascii: ":"))) }
                let isResourcePart = k == 5
                for (j, u) in seg.enumerated() {
                    switch u {
                    case .star where !isResourcePart && j != seg.count - 1: out.append(.starInSegment)
                    case .one where !isResourcePart: out.append(.oneInSegment)
                    default: out.append(u)
                    }
                }
            }
            form = .whole(Glob(units: out, caseInsensitive: false))
        }
    }

    init(_ text: String, mode: Mode) {
        self.init(units: Glob.units(text), mode: mode)
    }

    func matches(_ resource: ResourceName) -> Bool {
        switch form {
        case .anything:
            return true
        case .never:
            return false
        case .whole(let glob):
            return resource.bytes.withUnsafeBufferPointer { glob.matches(bytes: $0) }
        case .segments(let globs):
            guard let segs = resource.segments else { return false }
            return resource.bytes.withUnsafeBufferPointer { all in
                for k in 0..<5 where !globs[k].matches(bytes: UnsafeBufferPointer(rebasing: all[segs[k]])) {
                    return false
                }
                return true
            }
        }
    }
}

/// One entry of `Resource`/`NotResource`: compiled now when it has no variables, else once a
/// request supplies their values.
final class ResourcePattern: Sendable {
    let template: PolicyTemplate
    let compiled: ARNPattern?

    init(template: PolicyTemplate) {
        self.template = template
        compiled = template.hasVariables ? nil : template.globUnits(nil).map { ARNPattern(units: $0, mode: .resourceElement) }
    }

    /// Whether the pattern matches; `nil` when a variable has no value in the request (the
    /// entry then matches nothing, under `Resource` and `NotResource` alike).
    func matches(_ context: RequestContext) -> Bool? {
        if let compiled { return compiled.matches(context.resource) }
        guard let units = template.globUnits(context) else { return nil }
        return ARNPattern(units: units, mode: .resourceElement).matches(context.resource)
    }
}
