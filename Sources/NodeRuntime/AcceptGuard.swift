#if canImport(Glibc)
import Glibc
#endif
import Wire

/// What a listening socket needs when the process is out of descriptors: a spare descriptor
/// held back, given up to take one connection (so it can be told why it is refused), and a
/// pause of the listener when even that fails, so the event loop never spins on a listener it
/// cannot accept from. Shared by the JSON-RPC and HTTP listeners.
final class AcceptGuard {
    private var spare: Int32 = open("/dev/null", O_RDONLY | O_CLOEXEC)
    /// The listener does not accept while paused (its `wantsRead` reads this).
    private(set) var paused = false

    /// Accepts what waits on `listener` (up to 256 a round). A connection beyond `limit` open
    /// ones, or taken when the process has no descriptors left, goes to `refuse` with the reason;
    /// the others to `take` with the peer's address.
    func acceptWaiting(listener: Int32, handler: EventHandler, loop: EventLoop, open: () -> Int, limit: Int,
                       refuse: (Int32, String) -> Void, take: (Int32, String) -> Void) {
        for _ in 0..<256 {
            let accepted: (fd: Int32, peer: String)?
            do { accepted = try Socket.accept(listener) } catch where error.code == EMFILE || error.code == ENFILE {
                outOfDescriptors(listener: listener, handler: handler, loop: loop) { refuse($0, "the node has no file descriptors left") }
                return
            } catch {
                return
            }
            guard let (cfd, peer) = accepted else { return }
            if open() >= limit {
                refuse(cfd, "the node is at its limit of \(limit) connections")
            } else {
                take(cfd, peer)
            }
        }
    }

    /// Takes a connection from `listener` with the spare descriptor and hands it to `refuse`; if
    /// none can be taken, pauses `handler` on `loop` for 100 ms.
    func outOfDescriptors(listener: Int32, handler: EventHandler, loop: EventLoop, refuse: (Int32) -> Void) {
        if spare >= 0 { Glibc.close(spare); spare = -1 }
        if let (cfd, _) = (try? Socket.accept(listener)) ?? nil {
            refuse(cfd)
        } else {
            paused = true
            loop.update(handler)
            loop.after(0.1) { [weak self, weak handler] in
                guard let self, let handler else { return }
                self.paused = false
                loop.update(handler)
            }
        }
        spare = open("/dev/null", O_RDONLY | O_CLOEXEC)
    }
}
