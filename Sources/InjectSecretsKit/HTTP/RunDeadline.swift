import Dispatch
import Foundation

/// The whole run's time limit (`--timeout`): every HTTP attempt's timeout is the smaller of its own and
/// what is left of this, and `RetryPolicy` starts no attempt and sleeps no backoff past it. Carried as a
/// task-local value so every store, credential and deploy call of the run sees it without each client
/// being handed it (tasks a run starts inherit it).
package struct RunDeadline: Sendable {
    /// The run's limit as the user gave it, for messages.
    package let seconds: TimeInterval
    private let end: UInt64

    package static let defaultSeconds: TimeInterval = 300

    package init(seconds: TimeInterval, from start: UInt64 = DispatchTime.now().uptimeNanoseconds) {
        self.seconds = seconds
        end = start &+ UInt64(max(0, seconds) * 1e9)
    }

    @TaskLocal package static var current: RunDeadline?

    /// Seconds left; zero or less once the deadline has passed.
    package var remaining: TimeInterval {
        let now = DispatchTime.now().uptimeNanoseconds
        return now >= end ? -Double(now - end) / 1e9 : Double(end - now) / 1e9
    }

    /// "the run's --timeout of 300 s ran out", for messages.
    package var ranOut: String { "the run's --timeout of \(Self.format(seconds)) s ran out" }

    static func format(_ seconds: TimeInterval) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }
}
