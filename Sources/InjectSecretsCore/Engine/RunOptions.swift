import Foundation
import InjectSecretsKit

/// What every subcommand is given: which manifest, which environment, which functions.
package struct RunOptions: Sendable {
    package var manifestURL: URL
    /// The manifest path as the user wrote it, for messages.
    package var displayPath: String
    package var environment: String?
    /// Limits render and drift to these functions; empty means all.
    package var functions: [String]
    /// The process environment, for `${env.*}` and store credentials.
    package var processEnvironment: [String: String]
    /// Appends one JSON line per secret read or looked up, and per failure, to this file (mode 0600).
    package var auditLogURL: URL?
    /// Lets output paths (and `output-dir`) leave the manifest's folder.
    package var allowOutsideOutputPaths = false
    /// Lets render write an output that git would track (inside a work tree and not ignored).
    package var allowTrackedOutputs = false
    /// The whole run's time limit (`--timeout`): no store request or retry outlives it. Nil: none.
    package var deadline: RunDeadline?
    /// How long to wait for another run on the same manifest to release the run lock (`RunLock`).
    package var lockWait: TimeInterval = RunLock.defaultWait
    /// Set by the executable when a signal asks the run to stop.
    package var interruption = Interruption()
    /// Where the core sends what the user should know while it works (waiting for the run lock, a
    /// recovered commit); nil drops it.
    package var notice: (@Sendable (String) -> Void)?
    /// The caller already holds the run lock (rotate running drift): do not take it again.
    var holdsRunLock = false

    package init(manifestURL: URL, displayPath: String, environment: String? = nil, functions: [String] = [], processEnvironment: [String: String]) {
        self.manifestURL = manifestURL.standardizedFileURL
        self.displayPath = displayPath
        self.environment = environment
        self.functions = functions
        self.processEnvironment = processEnvironment
    }
}

extension RunOptions {
    /// The run's deadline when it is not yet in force: each engine entry point re-enters itself under
    /// it, so every request the run makes, from any task it starts, is bounded.
    package var deadlineToStart: RunDeadline? { RunDeadline.current == nil ? deadline : nil }
}
