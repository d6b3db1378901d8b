import Foundation
import InjectSecretsKit

/// A manifest with one environment's overlay applied, checked, and ready to resolve.
package struct Manifest: Sendable {
    /// The manifest file, absolute.
    package var url: URL
    /// The path as the user gave it, for diagnostics.
    package var displayPath: String
    /// The manifest's folder: relative paths in the manifest are relative to it.
    package var directory: URL { url.deletingLastPathComponent() }
    /// The `--environment` applied, if any.
    package var environment: String?
    /// Every environment the manifest declares.
    package var environmentNames: [String]
    package var providers: [String: ProviderDeclaration]
    package var secrets: [String: SecretDeclaration]
    package var vars: [String: String]
    package var outputDirectory: URL
    /// Sorted by name.
    package var functions: [FunctionDefinition]

    /// The lock file beside the manifest.
    package var lockURL: URL { Self.lockURL(inFolder: directory) }

    static func lockURL(inFolder folder: URL) -> URL { folder.appendingPathComponent("inject-secrets.lock") }

    /// A path relative to the manifest's folder, as recorded in the lock and shown to people.
    package func relativePath(_ url: URL) -> String {
        let base = directory.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        if path.hasPrefix(base + "/") { return String(path.dropFirst(base.count + 1)) }
        return path
    }
}

/// A secret declared under `secrets:`.
package struct SecretDeclaration: Sendable, Hashable {
    package var name: String
    package var providerName: String
    package var providerType: String
    /// The id in the store; may use `${vars.*}` and `${env.*}`.
    package var id: Template
    package var policy: VersionPolicy
    package var location: SourceLocation
    /// `rotation:` with `defaults.rotation` merged in; nil when none applies.
    package var rotation: RotationPolicy? = nil
}

/// A function under `functions:`, with `defaults` merged in.
package struct FunctionDefinition: Sendable {
    package var name: String
    package var location: SourceLocation
    /// Sorted by key; `defaults.env` merged under the function's own keys.
    package var variables: [VariableDefinition]
    package var outputs: [OutputDefinition]
    /// The node of a `lambda:` deployment target, if any, for the pipeline commands.
    package var lambdaNode: YAMLNode?
    /// The secrets this function's `env` reads, sorted, each once.
    package let secretNames: [String]

    package init(name: String, location: SourceLocation, variables: [VariableDefinition], outputs: [OutputDefinition], lambdaNode: YAMLNode?) {
        self.name = name
        self.location = location
        self.variables = variables
        self.outputs = outputs
        self.lambdaNode = lambdaNode
        secretNames = Array(Set(variables.flatMap { $0.template.secretNames })).sorted()
    }
}

package struct VariableDefinition: Sendable, Hashable {
    package var key: String
    package var template: Template
    package var location: SourceLocation
}

/// One output file of a function. Only its standardized absolute path is stored, the URL and the
/// relative path are made on use: a manifest may have a million outputs, and a URL costs several
/// hundred bytes each.
package struct OutputDefinition: Sendable, Hashable {
    package var format: OutputFormat
    /// Absolute and standardized.
    package let absolutePath: String
    /// The UTF-8 offset in `absolutePath` where `path` starts.
    private let relativeStart: Int
    package var location: SourceLocation

    /// `absolutePath` (standardized) as written below `folder` (the manifest's, standardized), or as
    /// it is outside it.
    init(format: OutputFormat, absolutePath: String, manifestFolder folder: String, location: SourceLocation) {
        self.format = format
        self.absolutePath = absolutePath
        relativeStart = absolutePath.hasPrefix(folder + "/") ? folder.utf8.count + 1 : 0
        self.location = location
    }

    package var url: URL { URL(fileURLWithPath: absolutePath, isDirectory: false) }

    /// Relative to the manifest's folder; absolute outside it.
    package var path: String { String(absolutePath.utf8.dropFirst(relativeStart))! }
}
