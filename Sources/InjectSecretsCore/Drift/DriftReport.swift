/// Every difference between the lock, the stores and the outputs, each with the functions it affects.
public struct DriftReport: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case rotated
        case versionGone = "version-gone"
        /// The locked version still exists but has lost its last label (AWS may delete it any time).
        case versionUnlabeled = "version-unlabeled"
        case unlocked
        case orphaned
        case outputMissing = "output-missing"
        case outputModified = "output-modified"
        case outputStale = "output-stale"
        /// `drift --deployed`: the Lambda was deployed from other lock entries than the lock's now.
        case deployedStale = "deployed-stale"
        /// `drift --deployed`: the Lambda has no deployment tag (never deployed by `deploy`) or is missing.
        case deployedUnknown = "deployed-unknown"
    }

    public struct Entry: Sendable, Equatable {
        public var kind: Kind
        public var secret: String?
        public var output: String?
        public var functions: [String]
        public var locked: String?
        public var current: String?
        public var message: String
        /// Where the manifest declares the secret or output, for CI annotations; nil for a secret the
        /// manifest no longer declares.
        public var location: SourceLocation? = nil

        /// One entry of the `drift` array of the JSON document.
        public func json() -> JSONValue {
            var members: [String: JSONValue] = [
                "kind": .string(kind.rawValue),
                "functions": .array(functions.map(JSONValue.string)),
                "message": .string(message),
            ]
            if let secret { members["secret"] = .string(secret) }
            if let output { members["output"] = .string(output) }
            if let locked { members["locked"] = .string(locked) }
            if let current { members["current"] = .string(current) }
            return .object(members)
        }
    }

    public var environment: String?
    public var entries: [Entry]
    /// Facts that are not drift, such as a rotation in flight.
    public var notes: [String]
    /// What was compared, for reports with one test case per item: the secret names (with the orphaned
    /// ones) and the output paths.
    public var checkedSecrets: [String] = []
    public var checkedOutputs: [String] = []
    /// The functions whose deployed Lambda was checked (`drift --deployed`).
    public var checkedDeployments: [String] = []

    public var clean: Bool { entries.isEmpty }

    /// The document `drift --format json` prints: `{"clean": ..., "drift": [...]}` plus `notes`.
    public func json() -> JSONValue {
        .object([
            "clean": .bool(clean),
            "environment": environment.map(JSONValue.string) ?? .null,
            "drift": .array(entries.map { $0.json() }),
            "notes": .array(notes.map(JSONValue.string)),
        ])
    }
}
