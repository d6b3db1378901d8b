import Foundation
import InjectSecretsKit

/// A file read started on a thread of its own while the caller does other work: the lock is parsed
/// while the manifest is, and the render record while the stores are read. `value()` waits for it.
// @unchecked: `result` is written once, by the reading thread, before `finished` is signalled, and read
// only after waiting on it: the semaphore orders the two, which the compiler cannot see.
final class ReadAhead<Value>: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    // Written once by the reading thread before `finished` is signalled, read only after waiting on it.
    private var result: Result<Value, Error>?

    /// `yielding`: the read has time until it is needed, and runs at a lower priority (`startThread`).
    init(yielding: Bool = false, _ read: @escaping @Sendable () throws -> Value) {
        startThread(yielding: yielding) { [self] in
            result = Result(catching: read)
            finished.signal()
        }
    }

    func value() throws -> Value {
        finished.wait()
        defer { finished.signal() }
        return try result!.get()
    }
}
