import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs one command the way a shell's `exec` would, for `inject-secrets exec`: stdin, stdout and stderr
/// inherited, the given environment, SIGINT/SIGTERM/SIGHUP passed on, and the child's status returned as
/// a shell reports it (its exit code, or 128+N when signal N killed it).
enum ChildProcess {
    /// The signals passed on to the child.
    static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    struct LaunchError: Error, CustomStringConvertible {
        /// 127 when the command was not found, 126 when it could not be run (the shells' codes).
        var status: Int32
        var description: String
    }

    /// Starts `arguments[0]` (looked up on PATH when it has no slash) with `environment`, waits for it and
    /// returns its status. Throws `LaunchError` when it cannot start.
    static func run(_ arguments: [String], environment: [String: String]) throws -> Int32 {
        precondition(!arguments.isEmpty)
        // Handlers go in before the child exists, so that no signal in between kills us and orphans it;
        // one that arrives before the child's id is known is passed on as soon as it is.
        installForwarding()

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with the default action for the forwarded signals and an empty mask.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in forwardedSignals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }

        var pid: pid_t = 0
        let command = arguments[0]
        let spawned: Int32
        if command.contains("/") {
            spawned = posix_spawn(&pid, command, nil, &attributes, argv, envp)
        } else {
            // posix_spawnp searches the PATH of this process, which the child's environment extends.
            guard let path = resolve(command, path: environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") else {
                throw LaunchError(status: 127, description: "command not found: '\(command)'")
            }
            spawned = posix_spawn(&pid, path, nil, &attributes, argv, envp)
        }
        guard spawned == 0 else {
            let reason = String(cString: strerror(spawned))
            throw LaunchError(status: spawned == ENOENT ? 127 : 126, description: "cannot run '\(command)': \(reason)")
        }
        childPID = pid
        if pendingSignal != 0 { kill(pid, pendingSignal) }

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 126 }
        }
        childPID = 0
        // WIFEXITED / WTERMSIG, spelled out since the C macros do not reach Swift.
        let signal = status & 0x7F
        if signal == 0 { return (status >> 8) & 0xFF }
        return 128 + signal
    }

    /// The first executable file named `command` on `path`.
    static func resolve(_ command: String, path: String) -> String? {
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + command
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

    private static func installForwarding() {
        for signal in forwardedSignals { installSignalHandler(signal, forward) }
    }
}

// Read from the signal handler: plain globals, written before the handler can need them.
private nonisolated(unsafe) var childPID: pid_t = 0
private nonisolated(unsafe) var pendingSignal: Int32 = 0

/// Passes a signal on to the child. A signal the kernel sent to the whole foreground process group (Ctrl-C
/// at a terminal: `si_code` SI_KERNEL) already reached the child, so it is not sent twice; one sent to us
/// alone (`kill`, a CI runner cancelling the step) is.
private func forward(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _: UnsafeMutableRawPointer?) {
    let pid = childPID
    guard pid > 0 else {
        pendingSignal = signal
        return
    }
    #if canImport(Glibc)
    if let info, info.pointee.si_code == 0x80 /* SI_KERNEL */ { return }
    #endif
    kill(pid, signal)
}
