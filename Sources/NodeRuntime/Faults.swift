#if canImport(Glibc)
import Glibc
#endif
import AccountNode
import Foundation
import CleanRoomsModel
import JSON
import Synchronization
import Wire

/// Faults injected into this node on purpose (fault-injection tests and `crml fault`): set only
/// through `admin.` methods or at start, never by the core, so the protocol code is the same
/// with or without them.
///
/// - Link faults are on the sending side, per peer account (`LinkFault`): what this node sends to
///   that peer, requests and answers alike, can be dropped (its sender sees a time-out, as with
///   a lost packet), delayed with jitter, duplicated, or held back and sent after the next
///   message (reordered). `LinkShaper` applies them.
/// - Failpoints crash the process at once (no cleanup, exit code 86) the next time the node
///   passes the named protocol step.
/// - Slow work stretches every run and export, so a test can act while one is in progress.
public final class Faults: @unchecked Sendable {
    public static let failpointNames = Failpoint.names
    public static let crashExitCode: Int32 = 86

    /// Per peer account: what happens to what this node sends it.
    private(set) var links: [String: LinkFault] = [:]
    private(set) var failpoints: Set<String> = []
    /// Seconds each run or export takes at least (read by the work thread).
    let workDelay = Mutex<Double>(0)
    /// Seconds a job stays in its delete state before it is removed (normally 0: as soon as
    /// the state is durable), to act while a delete is in progress.
    private(set) var deleteDelay = 0.0
    private var rng = SystemRandomNumberGenerator()

    public init(failpoints: Set<String> = []) { self.failpoints = failpoints }

    func link(to peer: String) -> LinkFault? { links[peer] }

    /// True with probability `p` (always for 1, never for 0).
    func chance(_ p: Double) -> Bool { p >= 1 || (p > 0 && Double.random(in: 0..<1, using: &rng) < p) }

    func uniform(_ a: Double, _ b: Double) -> Double { b > a ? Double.random(in: a...b, using: &rng) : a }

    /// A delay with jitter: uniform in [delay - jitter, delay + jitter], never below 0.
    func delay(_ f: LinkFault) -> Double {
        guard f.delay > 0 || f.jitter > 0 else { return 0 }
        return max(0, f.delay + (f.jitter > 0 ? Double.random(in: -f.jitter...f.jitter, using: &rng) : 0))
    }

    /// Crashes the process if `name` is armed.
    func pass(_ name: String) {
        guard failpoints.contains(name) else { return }
        Log.write("failpoint \(name): crashing now")
        _exit(Faults.crashExitCode)
    }

    /// `admin.SetLinkFault {peer, drop}`, `admin.HealLinks {peer?}`, `admin.ArmFailpoint {name}`,
    /// `admin.DisarmFailpoint {name}`, `admin.SetWorkDelay {seconds}`, `admin.SetDeleteDelay {seconds}`,
    /// `admin.ListFaults`.
    func handle(_ method: String, _ params: JSON) -> Result<JSON, AWSError> {
        switch method {
        case "admin.SetLinkFault":
            guard let peer = params["peer"]?.stringValue, peer.utf8.count == 12 else {
                return .failure(AWSError(.validation, "admin.SetLinkFault takes peer (an account id) and any of drop, duplicate, reorder (fractions from 0 to 1), delay and jitter (seconds, at most 60)"))
            }
            var f = links[peer] ?? LinkFault()
            for (name, limit) in [("drop", 1.0), ("duplicate", 1.0), ("reorder", 1.0), ("delay", 60.0), ("jitter", 60.0)] {
                guard let v = params[name] else { continue }
                guard let x = v.numberValue, x >= 0, x <= limit else {
                    return .failure(AWSError(.validation, "admin.SetLinkFault: \(name) must be a number from 0 to \(limit == 1 ? "1" : "60 (seconds)")"))
                }
                f[name] = x
            }
            links[peer] = f.isEmpty ? nil : f
        case "admin.HealLinks":
            if let peer = params["peer"]?.stringValue { links[peer] = nil } else { links.removeAll() }
        case "admin.ArmFailpoint", "admin.DisarmFailpoint":
            guard let name = params["name"]?.stringValue, Faults.failpointNames.contains(name) else {
                return .failure(AWSError(.validation, "\(method) takes name, one of: \(Faults.failpointNames.joined(separator: ", "))"))
            }
            if method == "admin.ArmFailpoint" { failpoints.insert(name) } else { failpoints.remove(name) }
        case "admin.SetWorkDelay":
            guard let s = params["seconds"]?.numberValue, s >= 0, s <= 3600 else { return .failure(AWSError(.validation, "admin.SetWorkDelay takes seconds (0 to 3600)")) }
            workDelay.withLock { $0 = s }
        case "admin.SetDeleteDelay":
            guard let s = params["seconds"]?.numberValue, s >= 0, s <= 3600 else { return .failure(AWSError(.validation, "admin.SetDeleteDelay takes seconds (0 to 3600)")) }
            deleteDelay = s
        case "admin.ListFaults":
            break
        default:
            return .failure(AWSError(AWSErrorCode("UnknownOperationException", 404), "Method not found: \(method)"))
        }
        return .success(["links": .object(links.mapValues(\.json)), "failpoints": .array(failpoints.sorted().map { .string($0) }),
                         "workDelaySeconds": .number(workDelay.withLock { $0 }), "deleteDelaySeconds": .number(deleteDelay)])
    }
}

/// What the network does to the messages one node sends to one peer. All zero: nothing.
public struct LinkFault: Sendable, Equatable {
    /// Fraction of messages lost (1: the link is cut in this direction).
    public var drop = 0.0
    /// Seconds each message waits before it goes, give or take `jitter`.
    public var delay = 0.0
    public var jitter = 0.0
    /// Fraction of messages sent twice.
    public var duplicate = 0.0
    /// Fraction of messages held back and sent after the next one.
    public var reorder = 0.0

    public init() {}

    var isEmpty: Bool { self == LinkFault() }

    subscript(name: String) -> Double {
        get {
            switch name {
            case "drop": return drop
            case "delay": return delay
            case "jitter": return jitter
            case "duplicate": return duplicate
            default: return reorder
            }
        }
        set {
            switch name {
            case "drop": drop = newValue
            case "delay": delay = newValue
            case "jitter": jitter = newValue
            case "duplicate": duplicate = newValue
            default: reorder = newValue
            }
        }
    }

    var json: JSON {
        .compactObject(["drop": drop > 0 ? .number(drop) : nil, "delay": delay > 0 ? .number(delay) : nil, "jitter": jitter > 0 ? .number(jitter) : nil,
                        "duplicate": duplicate > 0 ? .number(duplicate) : nil, "reorder": reorder > 0 ? .number(reorder) : nil])
    }
}
