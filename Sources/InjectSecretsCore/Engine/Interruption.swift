import Foundation
import InjectSecretsKit

/// A request to stop the run, made by the executable when SIGINT, SIGTERM or SIGHUP arrives (the core
/// installs no handler and never exits). The engine looks at it between stages: before a store is read,
/// before the commit, and between the files of a commit until its renames begin; from then on the commit
/// runs to its end. The run then ends with `FailureKind.interrupted`, after revoking what it logged in with.
// @unchecked: the mutable state is private and read and written only under `lock` (also from a signal-watching thread)
// (`Synchronization.Mutex` needs macOS 15; this package supports macOS 13).
package final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?

    package init() {}

    /// The first signal received, if any.
    package var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Records `signal`; later ones do not replace the first.
    package func request(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if received == nil { received = signal }
    }

    /// Thrown inside the core where a stage stops; the engine turns it into an `InjectSecretsError`.
    struct Stopped: Error {
        var signal: Int32
    }

    func check() throws {
        if let signal { throw Stopped(signal: signal) }
    }

    package static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }
}

extension InjectSecretsError {
    static func interrupted(_ signal: Int32, _ what: String) -> InjectSecretsError {
        InjectSecretsError(.interrupted(signal: signal), [.error("stopped by \(Interruption.name(of: signal)): \(what)", at: nil)])
    }
}
