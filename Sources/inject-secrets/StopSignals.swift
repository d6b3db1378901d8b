import Foundation
import InjectSecretsKit
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
///
/// The handler only writes the signal's number to a pipe (a self-pipe: `write` is async-signal-safe),
/// read by a thread that does the rest. A handler rather than `SIG_IGN` plus a dispatch source, because
/// an ignored signal stays ignored in every program we start (git, credential_process), and a handled
/// one is reset to its default there by `exec`.
enum StopSignals {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    static let interruption = Interruption()

    /// Installs the handlers; `cancel` is called on the first signal.
    static func install(cancel: @escaping @Sendable () -> Void) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        signalPipe = ends[1]
        let readEnd = ends[0]
        Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count < 0 && errno == EINTR { continue }
                guard count == 1 else { return }
                let signal = Int32(byte)
                if interruption.signal != nil { _exit(ToolExit.stopped(signal: signal).code) }
                interruption.request(signal)
                cancel()
            }
        }.start()
        for signal in signals { installSignalHandler(signal, noteSignal) }
    }

    /// The run's task, once it exists; cancelled by the first signal, at once if it came earlier.
    // @unchecked: the mutable state is private and read and written only under `lock`
    // (`Synchronization.Mutex` needs macOS 15; this package supports macOS 13).
    final class CancellableTask: @unchecked Sendable {
        private let lock = NSLock()
        private var task: Task<Void, Error>?
        private var cancelled = false

        func set(_ task: Task<Void, Error>) {
            lock.lock()
            defer { lock.unlock() }
            self.task = task
            if cancelled { task.cancel() }
        }

        func cancel() {
            lock.lock()
            defer { lock.unlock() }
            cancelled = true
            task?.cancel()
        }
    }

    /// A command without stages of its own to stop at (drift, rotate, deploy) ends as it ends, then
    /// still exits 128 + N when a signal came meanwhile, so the caller knows it was stopped.
    static func exitIfStopped() {
        guard let signal = interruption.signal else { return }
        FileHandle.standardError.write(Data("error: stopped by \(Interruption.name(of: signal))\n".utf8))
        exit(ToolExit.stopped(signal: signal).code)
    }
}

// Written once before the handlers are installed, then only read by them.
private nonisolated(unsafe) var signalPipe: Int32 = -1

/// Installs `handler` for `signal` (`SA_SIGINFO | SA_RESTART`, nothing blocked meanwhile).
func installSignalHandler(
    _ signal: Int32, _ handler: @escaping @convention(c) (Int32, UnsafeMutablePointer<siginfo_t>?, UnsafeMutableRawPointer?) -> Void
) {
    var action = sigaction()
    #if canImport(Glibc)
    action.__sigaction_handler.sa_sigaction = handler
    #else
    action.__sigaction_u.__sa_sigaction = handler
    #endif
    action.sa_flags = SA_SIGINFO | SA_RESTART
    sigemptyset(&action.sa_mask)
    sigaction(signal, &action, nil)
}

private func noteSignal(_ signal: Int32, _: UnsafeMutablePointer<siginfo_t>?, _: UnsafeMutableRawPointer?) {
    var byte = UInt8(truncatingIfNeeded: signal)
    let saved = errno
    _ = write(signalPipe, &byte, 1)
    errno = saved
}
