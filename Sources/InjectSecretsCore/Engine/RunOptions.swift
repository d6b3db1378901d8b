import Foundation

/// What every subcommand is given: which manifest, which environment, which functions.
public struct RunOptions: Sendable {
    public var manifestURL: URL
    /// The manifest path as the user wrote it, for messages.
    public var displayPath: String
    public var environment: String?
    /// Limits render and drift to these functions; empty means all.
    public var functions: [String]
    /// The process environment, for `${env.*}` and store credentials.
    public var processEnvironment: [String: String]
    /// Appends one JSON line per secret read or looked up, and per failure, to this file (mode 0600).
    public var auditLogURL: URL?
    /// Lets output paths (and `output-dir`) leave the manifest's folder.
    public var allowOutsideOutputPaths = false
    /// Lets render write an output that git would track (inside a work tree and not ignored).
    public var allowTrackedOutputs = false
    /// The whole run's time limit (`--timeout`): no store request or retry outlives it. Nil: none.
    public var deadline: RunDeadline?
    /// How long to wait for another run on the same manifest to release the run lock (`RunLock`).
    public var lockWait: TimeInterval = RunLock.defaultWait
    /// Set by the executable when a signal asks the run to stop.
    public var interruption = Interruption()
    /// Where the core sends what the user should know while it works (waiting for the run lock, a
    /// recovered commit); nil drops it.
    public var notice: (@Sendable (String) -> Void)?
    /// The caller already holds the run lock (rotate running drift): do not take it again.
    var holdsRunLock = false

    public init(manifestURL: URL, displayPath: String, environment: String? = nil, functions: [String] = [], processEnvironment: [String: String]) {
        self.manifestURL = manifestURL.standardizedFileURL
        self.displayPath = displayPath
        self.environment = environment
        self.functions = functions
        self.processEnvironment = processEnvironment
    }
}
