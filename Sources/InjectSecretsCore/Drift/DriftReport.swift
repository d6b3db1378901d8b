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
        /// The version the policy selects is older than `rotation.every`.
        case rotationOverdue = "rotation-overdue"
        /// The locked version is past its expiry (Azure `exp`, Vault's scheduled deletion).
        case versionExpired = "version-expired"
        /// `drift --deployed --verify`: the Lambda's live environment differs from the lock's.
        case deployedModified = "deployed-modified"
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
        /// `rotation-overdue`: the selected version's age in whole days, and the policy's `every`.
        public var age: Int? = nil
        public var limit: String? = nil

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
            if let age { members["age"] = .number(String(age)) }
            if let limit { members["limit"] = .string(limit) }
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
