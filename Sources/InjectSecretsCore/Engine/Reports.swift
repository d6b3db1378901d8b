/// What `validate` checked.
public struct ValidationReport: Sendable {
    public var manifest: String
    public var environments: [String]
    public var functions: Int
    public var secrets: Int
    public var lockChecked: Bool
    /// The secrets and output paths checked (base manifest and every environment), sorted, for reports
    /// with one test case per item.
    public var secretNames: [String] = []
    public var outputPaths: [String] {
        Array(Set(manifests.lazy.flatMap { $0.functions.lazy.flatMap { $0.outputs.map(\.path) } })).sorted()
    }
    /// The manifests checked: output paths are gathered and sorted only when a report asks for them,
    /// since a million of them cost a second and their memory again.
    var manifests: [Manifest] = []
}

/// What `render` did.
public struct RenderReport: Sendable {
    public struct Output: Sendable {
        public var function: String
        public var path: String
        public var format: String
        /// False when the file already held these bytes.
        public var written: Bool
    }

    public struct Secret: Sendable {
        public var name: String
        public var provider: String
        public var id: String
        public var version: String
        /// The version the lock held before, when it differs.
        public var previous: String?
    }

    public var environment: String?
    public var locked: Bool
    public var outputs: [Output]
    public var secrets: [Secret]
    public var lockPath: String
    public var lockChanged: Bool
}

/// What `render --dry-run` would do, from metadata only.
public struct RenderPlan: Sendable {
    public struct SecretChange: Sendable {
        public var name: String
        public var provider: String
        public var id: String
        /// The version in the lock, nil when the lock does not record this declaration.
        public var locked: String?
        /// The version the policy selects now.
        public var selected: String?
        public var functions: [String]
        public var notes: [String]
    }

    public struct FunctionChange: Sendable {
        public var function: String
        /// Variables whose value would change, sorted.
        public var variables: [String]
        /// The secrets behind the change.
        public var secrets: [String]
        /// Outputs that do not exist yet.
        public var newOutputs: [String]
    }

    public var environment: String?
    public var secrets: [SecretChange]
    public var functions: [FunctionChange]
    public var unchanged: [String]
}

/// The environments `exec` hands to a child: resolved in memory, written nowhere.
public struct ResolvedEnvironments: Sendable {
    public var environment: String?
    /// Function name -> variable -> value. Values are secrets: pass them on, never print them.
    public var functions: [String: [String: String]]
    /// Secret name -> the version read.
    public var versions: [String: String]
}
