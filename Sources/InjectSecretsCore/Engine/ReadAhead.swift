import Foundation
import InjectSecretsKit

/// Work started on a thread of its own while the caller does other work: the lock is parsed while the
/// manifest is, the run's names are sorted while its references are made, and the render record is
/// read while the stores are asked. `value()` waits for it.
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

/// `body` over `0..<count`, in two halves at once (the second on a thread of its own) when each half
/// has at least `minimumHalf` items, else in one part: for work on items that need nothing of each
/// other (declarations, functions, secrets of a run) and, at fleet size, take longer than a thread
/// costs to start. The parts' results in order.
func inTwoHalves<Part: Sendable>(_ count: Int, minimumHalf: Int = 500, _ body: @escaping @Sendable (Range<Int>) -> Part) -> [Part] {
    guard count >= 2 * minimumHalf else { return [body(0..<count)] }
    let middle = count / 2
    let second = ReadAhead { body(middle..<count) }
    let first = body(0..<middle)
    return [first, try! second.value()]
}
