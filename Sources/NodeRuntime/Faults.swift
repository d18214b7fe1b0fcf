#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CleanRoomsModel
import JSON
import Synchronization

/// Faults injected into this node on purpose (fault-injection tests and `crml fault`): set only
/// through `admin.` methods or at start, never by the core, so the protocol code is the same
/// with or without them.
///
/// - Link faults are on the sending side, per peer account: a dropped message is simply not
///   written (its sender sees a time-out, as with a lost packet).
/// - Failpoints crash the process at once (no cleanup, exit code 86) the next time the node
///   passes the named protocol step.
/// - Slow work stretches every run and export, so a test can act while one is in progress.
public final class Faults: @unchecked Sendable {
    public static let failpointNames = ["start.after-intent", "start.after-peer-created", "delete.after-log", "delete.apply", "run.during", "export.during"]
    public static let crashExitCode: Int32 = 86

    /// Per peer account: the fraction of messages to it that are dropped (1 = cut).
    private(set) var drop: [String: Double] = [:]
    private(set) var failpoints: Set<String> = []
    /// Seconds each run or export takes at least (read by the work thread).
    let workDelay = Mutex<Double>(0)
    private var rng = SystemRandomNumberGenerator()

    public init(failpoints: Set<String> = []) { self.failpoints = failpoints }

    /// Whether a message to `peer` is lost.
    func drops(to peer: String) -> Bool {
        guard let p = drop[peer], p > 0 else { return false }
        return p >= 1 || Double.random(in: 0..<1, using: &rng) < p
    }

    /// Crashes the process if `name` is armed.
    func pass(_ name: String) {
        guard failpoints.contains(name) else { return }
        FileHandle.standardError.write(Data("failpoint \(name): crashing now\n".utf8))
        _exit(Faults.crashExitCode)
    }

    /// `admin.SetLinkFault {peer, drop}`, `admin.HealLinks {peer?}`, `admin.ArmFailpoint {name}`,
    /// `admin.DisarmFailpoint {name}`, `admin.SetWorkDelay {seconds}`, `admin.ListFaults`.
    func handle(_ method: String, _ params: JSON) -> Result<JSON, AWSError> {
        switch method {
        case "admin.SetLinkFault":
            guard let peer = params["peer"]?.stringValue, peer.utf8.count == 12, let d = params["drop"]?.numberValue, d >= 0, d <= 1 else {
                return .failure(AWSError(.validation, "admin.SetLinkFault takes peer (an account id) and drop (a fraction from 0 to 1)"))
            }
            drop[peer] = d == 0 ? nil : d
        case "admin.HealLinks":
            if let peer = params["peer"]?.stringValue { drop[peer] = nil } else { drop.removeAll() }
        case "admin.ArmFailpoint", "admin.DisarmFailpoint":
            guard let name = params["name"]?.stringValue, Faults.failpointNames.contains(name) else {
                return .failure(AWSError(.validation, "\(method) takes name, one of: \(Faults.failpointNames.joined(separator: ", "))"))
            }
            if method == "admin.ArmFailpoint" { failpoints.insert(name) } else { failpoints.remove(name) }
        case "admin.SetWorkDelay":
            guard let s = params["seconds"]?.numberValue, s >= 0, s <= 3600 else { return .failure(AWSError(.validation, "admin.SetWorkDelay takes seconds (0 to 3600)")) }
            workDelay.withLock { $0 = s }
        case "admin.ListFaults":
            break
        default:
            return .failure(AWSError(AWSErrorCode("UnknownOperationException", 404), "Method not found: \(method)"))
        }
        let links: [String: JSON] = drop.mapValues { .object(["drop": .number($0)]) }
        return .success(["links": .object(links), "failpoints": .array(failpoints.sorted().map { .string($0) }),
                         "workDelaySeconds": .number(workDelay.withLock { $0 })])
    }
}
