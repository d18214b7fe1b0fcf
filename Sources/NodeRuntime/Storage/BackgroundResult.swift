import Foundation

/// A computation started on a thread of its own, whose result (or error) the caller takes when
/// it needs it (`value`, which waits). Used for start-up work that can overlap other start-up
/// work, never on an event loop.
final class BackgroundResult<T>: @unchecked Sendable {
    private var result: Result<T, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping () throws -> T) {
        let box = UnsafeTransfer(work)
        Thread.detachNewThread { [self] in
            result = Result { try box.value() }
            done.signal()
        }
    }

    /// Waits for the result; each call after the first returns at once.
    func value() throws -> T {
        done.wait()
        done.signal()
        return try result!.get()
    }
}

/// A value carried to another thread where the compiler cannot see that only one thread uses it
/// at a time: handed over for good, or carried back to its event loop (`EventLoop.post`) untouched.
struct UnsafeTransfer<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
