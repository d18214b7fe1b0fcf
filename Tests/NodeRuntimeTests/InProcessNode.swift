import AccountNode
import CleanRoomsModel
import Foundation
import NodeRuntime
import Wire

/// A node run in the test's own process, on a data directory the test keeps between runs.
enum InProcessNode {
    /// Runs a node on `dir` (with `configure` applied to its options): `body` gets it and an
    /// admin client; then it stops (its writes durable) and its recovery figures are returned.
    @discardableResult
    static func run(_ dir: String, auditCapacity: Int = 50_000, configure: (inout AccountNodeRuntime.Options) -> Void = { _ in },
                    _ body: (AccountNodeRuntime, RPCClient) throws -> Void) throws -> AccountNodeRuntime.Recovery {
        let admin = NodeConfig.BootstrapAdmin(accessKeyID: "AKIAADMIN00000000001", secretAccessKey: String(repeating: "s", count: 40))
        let config = NodeConfig(account: AccountID("111111111111")!, admin: admin, auditCapacity: auditCapacity)
        var options = AccountNodeRuntime.Options(dataDir: dir)
        configure(&options)
        let node = try AccountNodeRuntime(config: config, options: options)
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            node.run()
            stopped.signal()
        }
        defer {
            node.stop()
            stopped.wait()
        }
        let client = try RPCClient.connect(host: "127.0.0.1", port: node.port, credentials: .accessKey(admin.accessKeyID, secret: admin.secretAccessKey),
                                           readerThread: false)
        try body(node, client)
        return node.recovery
    }
}
