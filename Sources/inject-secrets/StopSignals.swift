import Dispatch
import Foundation
import InjectSecretsCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT, SIGTERM and SIGHUP ask the run to stop instead of killing it: the core's `Interruption` is
/// set (the engine stops at its next stage, puts back or completes its commit and revokes its logins)
/// and the running task is cancelled (a request in flight ends). The run then exits 128 + N. A second
/// signal while it stops exits at once: whatever commit was in progress is left to the next run's
/// recovery. `exec` does not use this: it passes the signals on to its child.
enum StopSignals {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    static let interruption = Interruption()
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// Installs the handlers; `cancel` is called on the first signal.
    static func install(cancel: @escaping @Sendable () -> Void) {
        for signal in signals {
            Glibc_signal(signal)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler {
                if interruption.signal != nil { _exit(128 + signal) }
                interruption.request(signal)
                cancel()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The exit code of a run stopped by `signal`, as a shell reports a process killed by it.
    static func exitCode(_ signal: Int32) -> Int32 { 128 + signal }

    /// A command without stages of its own to stop at (drift, rotate, deploy) ends as it ends, then
    /// still exits 128 + N when a signal came meanwhile, so the caller knows it was stopped.
    static func exitIfStopped() {
        guard let signal = interruption.signal else { return }
        FileHandle.standardError.write(Data("error: stopped by \(Interruption.name(of: signal))\n".utf8))
        exit(exitCode(signal))
    }
}

// Ignored at the process level so that only the dispatch source sees the signal.
@inline(__always) private func Glibc_signal(_ number: Int32) { signal(number, SIG_IGN) }
