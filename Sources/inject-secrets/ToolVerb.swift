// Shared by the executable and the command plugin (the plugin's copy is a symlink to this file), so
// the two cannot disagree about which words are subcommands, what the manifest is called or what an
// exit code means.

/// The subcommands of the `inject-secrets` executable.
enum ToolVerb: String, CaseIterable {
    case validate
    case render
    case drift
    case exec
    case rotate
    case deploy
    case policy
}

/// The manifest looked up when `--manifest` is not given.
let defaultManifestName = "inject-secrets.yaml"

/// The exit codes of `inject-secrets`, as README's "Exit codes" table documents them.
enum ToolExit: Equatable {
    case success
    /// `drift` found drift.
    case drift
    /// Arguments, manifest, lock or template.
    case badInput
    /// A store failed: unreachable, refused, not found, throttled after retries.
    case storeFailure
    /// Every secret was read, but a value cannot go where it must.
    case unwritableValue
    /// Another run on the same manifest held the run lock for longer than the wait.
    case busy
    /// Stopped by a signal, as a shell reports a process killed by it.
    case stopped(signal: Int32)

    var code: Int32 {
        switch self {
        case .success: return 0
        case .drift: return 1
        case .badInput: return 2
        case .storeFailure: return 3
        case .unwritableValue: return 4
        case .busy: return 5
        case .stopped(let signal): return 128 + signal
        }
    }

    /// The exit that `code` stands for; nil for a code the tool does not use (for `exec`, the
    /// command's own status is passed through and may be any of them).
    init?(code: Int32) {
        if (129...255).contains(code) {
            self = .stopped(signal: code - 128)
            return
        }
        let fixed: [ToolExit] = [.success, .drift, .badInput, .storeFailure, .unwritableValue, .busy]
        guard let exit = fixed.first(where: { $0.code == code }) else { return nil }
        self = exit
    }
}
