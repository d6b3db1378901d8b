import InjectSecretsKit

/// Every difference between the lock, the stores and the outputs, each with the functions it affects.
package struct DriftReport: Sendable {
    package enum Kind: String, Sendable, CaseIterable {
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

    package struct Entry: Sendable, Equatable {
        package var kind: Kind
        package var secret: String?
        package var output: String?
        package var functions: [String]
        package var locked: String?
        package var current: String?
        package var message: String
        /// Where the manifest declares the secret or output, for CI annotations; nil for a secret the
        /// manifest no longer declares.
        package var location: SourceLocation? = nil
        /// `rotation-overdue`: the selected version's age in whole days, and the policy's `every`.
        package var age: Int? = nil
        package var limit: String? = nil

        package init(
            kind: Kind, secret: String? = nil, output: String? = nil, functions: [String] = [], locked: String? = nil,
            current: String? = nil, message: String, location: SourceLocation? = nil, age: Int? = nil,
            limit: String? = nil
        ) {
            self.kind = kind
            self.secret = secret
            self.output = output
            self.functions = functions
            self.locked = locked
            self.current = current
            self.message = message
            self.location = location
            self.age = age
            self.limit = limit
        }

        /// One entry of the `drift` array of the JSON document.
        package func json() -> JSONValue {
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

    package var environment: String?
    package var entries: [Entry]
    /// Facts that are not drift, such as a rotation in flight.
    package var notes: [String]
    /// What was compared, for reports with one test case per item: the secret names (with the orphaned
    /// ones) and the output paths.
    package var checkedSecrets: [String] = []
    package var checkedOutputs: [String] = []
    /// The functions whose deployed Lambda was checked (`drift --deployed`).
    package var checkedDeployments: [String] = []

    package var clean: Bool { entries.isEmpty }

    package init(environment: String?, entries: [Entry], notes: [String]) {
        self.environment = environment
        self.entries = entries
        self.notes = notes
    }

    /// The document `drift --format json` prints: `{"clean": ..., "drift": [...]}` plus `notes`.
    package func json() -> JSONValue {
        .object([
            "clean": .bool(clean),
            "environment": environment.map(JSONValue.string) ?? .null,
            "drift": .array(entries.map { $0.json() }),
            "notes": .array(notes.map(JSONValue.string)),
        ])
    }
}
