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
    }

    public struct Entry: Sendable, Equatable {
        public var kind: Kind
        public var secret: String?
        public var output: String?
        public var functions: [String]
        public var locked: String?
        public var current: String?
        public var message: String
    }

    public var environment: String?
    public var entries: [Entry]
    /// Facts that are not drift, such as a rotation in flight.
    public var notes: [String]

    public var clean: Bool { entries.isEmpty }

    /// The JSON document of the spec: `{"clean": ..., "drift": [...]}` plus `notes`.
    public func json() -> JSONValue {
        .object([
            "clean": .bool(clean),
            "environment": environment.map(JSONValue.string) ?? .null,
            "drift": .array(entries.map { entry in
                var members: [String: JSONValue] = [
                    "kind": .string(entry.kind.rawValue),
                    "functions": .array(entry.functions.map(JSONValue.string)),
                    "message": .string(entry.message),
                ]
                if let secret = entry.secret { members["secret"] = .string(secret) }
                if let output = entry.output { members["output"] = .string(output) }
                if let locked = entry.locked { members["locked"] = .string(locked) }
                if let current = entry.current { members["current"] = .string(current) }
                return .object(members)
            }),
            "notes": .array(notes.map(JSONValue.string)),
        ])
    }
}
