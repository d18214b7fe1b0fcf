import Campaign
import Checker
import ClusterConfig
import Foundation
import JSON
import Synchronization
import Wire

/// The clients of `crml check run` on real nodes: each a thread with its own connection to its
/// account's node, paced to the run's rate, doing what `CampaignWorkload` chooses and recording
/// invoke and completion in the history.
final class Workload: @unchecked Sendable {
    let cluster: ClusterFile
    let dir: ClusterDirectory
    let history: HistoryRecorder
    let campaign: CampaignWorkload
    private let stopping = Atomic<Bool>(false)

    init(cluster: ClusterFile, dir: ClusterDirectory, history: HistoryRecorder, seed: UInt64) {
        self.cluster = cluster
        self.dir = dir
        self.history = history
        campaign = CampaignWorkload(accounts: cluster.accounts.map(\.id.rawValue), region: cluster.region, seed: seed)
    }

    var accounts: [String] { campaign.accounts }

    func client(_ account: String) throws -> RPCClient {
        guard let a = cluster.accounts.first(where: { $0.id.rawValue == account }) else { throw CommandFailure.usage("no account \(account)") }
        return try dir.adminClient(cluster, a, timeout: 10, readerThread: false)
    }

    /// Every account's data, model, CAM and seed.
    func setUp() throws {
        for account in accounts {
            let c = try client(account)
            defer { c.close() }
            do {
                try campaign.setUp(account, interactions: CampaignWorkload.files.interactions, seedFile: CampaignWorkload.files.seed,
                                   call: { method, params in try c.call(method, params) },
                                   modelTrained: { model in try DemoCommand.poll(c, "cleanroomsml.GetAudienceModel", ["audienceModelArn": model])["status"] == "ACTIVE" })
            } catch let f as CampaignWorkload.SetUpFailure {
                throw CommandFailure(code: .failed, message: f.description)
            }
        }
    }

    func stop() { stopping.store(true, ordering: .sequentiallyConsistent) }

    /// Runs `concurrency` clients until `stop`, together making about `rate` operations a second.
    func runClients(concurrency: Int, rate: Double) -> [Thread] {
        (0..<concurrency).map { p in
            let t = Thread { [self] in self.client(process: p, concurrency: concurrency, rate: rate) }
            t.name = "client-\(p)"
            t.start()
            return t
        }
    }

    private func client(process p: Int, concurrency: Int, rate: Double) {
        var me = campaign.makeClient(process: p)
        let account = me.account
        var connection: RPCClient?
        let interval = Double(concurrency) / max(0.1, rate)
        let start = history.start
        var next = EventLoop.now() + campaign.firstDelay(&me, interval: interval)
        func run(_ op: CampaignOperation) -> (HistoryEvent.Kind, JSON) {
            history.record(process: String(p), account: account, .invoke, op.f, op.args)
            if connection == nil { connection = try? client(account) }
            guard let c = connection else {
                history.record(process: String(p), account: account, .info, op.f, ["error": "cannot connect to the node"])
                return (.info, [:])
            }
            let (method, params, timeout) = campaign.request(op, account: account)
            let outcome: CallOutcome
            do { outcome = .result(try c.call(method, params, timeout: timeout)) } catch {
                if case .service(let e) = error { outcome = .serviceError(type: e.type, message: e.message) } else { outcome = .unknown("\(error)") }
            }
            let (kind, value) = campaign.interpret(op, account: account, outcome, now: EventLoop.now() - start)
            if kind == .info { c.close(); connection = nil }
            history.record(process: String(p), account: account, kind, op.f, value)
            return (kind, value)
        }
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let wait = next - EventLoop.now()
            if wait > 0 { usleep(UInt32(min(wait, 1) * 1_000_000)) }  // pacing the load, not synchronisation
            if EventLoop.now() < next { continue }
            next += interval
            let op = campaign.next(&me, now: EventLoop.now() - start)
            let (kind, value) = run(op)
            if let delete = campaign.deleteRightAway(&me, after: op, kind, value) { _ = run(delete) }
        }
        connection?.close()
    }
}
