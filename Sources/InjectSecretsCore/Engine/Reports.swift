import InjectSecretsKit

/// What `validate` checked.
package struct ValidationReport: Sendable {
    package var manifest: String
    package var environments: [String]
    package var functions: Int
    package var secrets: Int
    package var lockChecked: Bool
    /// The secrets and output paths checked (base manifest and every environment), sorted, for reports
    /// with one test case per item.
    package var secretNames: [String] = []
    package var outputPaths: [String] {
        Array(Set(manifests.lazy.flatMap { $0.functions.lazy.flatMap { $0.outputs.map(\.path) } })).sorted()
    }
    /// The manifests checked: output paths are gathered and sorted only when a report asks for them,
    /// since a million of them cost a second and their memory again.
    var manifests: [Manifest] = []
}

/// What `render` did.
package struct RenderReport: Sendable {
    package struct Output: Sendable {
        package var function: String
        package var path: String
        package var format: String
        /// False when the file already held these bytes.
        package var written: Bool
    }

    package struct Secret: Sendable {
        package var name: String
        package var provider: String
        package var id: String
        package var version: String
        /// The version the lock held before, when it differs.
        package var previous: String?
    }

    package var environment: String?
    package var locked: Bool
    package var outputs: [Output]
    package var secrets: [Secret]
    package var lockPath: String
    package var lockChanged: Bool
}

/// What `render --dry-run` would do, from metadata only.
package struct RenderPlan: Sendable {
    package struct SecretChange: Sendable {
        package var name: String
        package var provider: String
        package var id: String
        /// The version in the lock, nil when the lock does not record this declaration.
        package var locked: String?
        /// The version the policy selects now.
        package var selected: String?
        package var functions: [String]
        package var notes: [String]
    }

    package struct FunctionChange: Sendable {
        package var function: String
        /// Variables whose value would change, sorted.
        package var variables: [String]
        /// The secrets behind the change.
        package var secrets: [String]
        /// Outputs that do not exist yet.
        package var newOutputs: [String]
    }

    package var environment: String?
    package var secrets: [SecretChange]
    package var functions: [FunctionChange]
    package var unchanged: [String]
}

/// The environments `exec` hands to a child: resolved in memory, written nowhere.
package struct ResolvedEnvironments: Sendable {
    package var environment: String?
    /// Function name -> variable -> value. Values are secrets: pass them on, never print them.
    package var functions: [String: [String: String]]
    /// Secret name -> the version read.
    package var versions: [String: String]
}
