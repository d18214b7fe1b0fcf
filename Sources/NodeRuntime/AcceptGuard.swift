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
