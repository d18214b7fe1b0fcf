#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
import Synchronization

/// Where each account's node listens, read from a cluster file and read again only when the
/// file changes (another inode, size or modification time: the launcher replaces the file
/// whenever a node starts and reports its port). A node asks this each time it opens a link to
/// a peer; with a hundred accounts, decoding the whole file every time cost more than the link.
public final class PeerEndpoints: Sendable {
    public let path: String
    private struct Cache {
        var identity: [Int] = []
        var endpoints: [String: Endpoint] = [:]
    }
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var port: UInt16
        public init(host: String, port: UInt16) { (self.host, self.port) = (host, port) }
    }
    private let cache = Mutex(Cache())

    public init(path: String) { self.path = path }

    /// `account`'s host and port, if the file names a port for it.
    public func endpoint(_ account: String) -> Endpoint? {
        cache.withLock { c in
            refresh(&c)
            return c.endpoints[account]
        }
    }

    private func refresh(_ c: inout Cache) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        let now = [Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)]
        guard now != c.identity, let bytes = FileManager.default.contents(atPath: path), let json = try? JSONParser.parse([UInt8](bytes)) else { return }
        var found: [String: Endpoint] = [:]
        for a in json["accounts"]?.arrayValue ?? [] {
            guard let id = a["id"]?.stringValue, let port = a["port"]?.intValue, port > 0, port <= 65535 else { continue }
            found[id] = Endpoint(host: a["host"]?.stringValue ?? "127.0.0.1", port: UInt16(port))
        }
        (c.identity, c.endpoints) = (now, found)
    }
}
