/// Tests that measure how a node shares its time between clients, and tests that keep both of
/// this machine's cores busy for seconds (simulated campaigns), take turns: run together, the
/// second starves the first's client threads and its figures say nothing about the node.
public actor ExclusiveCPU {
    public static let shared = ExclusiveCPU()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }

    /// Runs `body` while no other `run` body runs.
    public static func run<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await shared.acquire()
        do {
            let r = try await body()
            await shared.release()
            return r
        } catch {
            await shared.release()
            throw error
        }
    }
}
