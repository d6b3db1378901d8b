import Foundation

/// A manifest with one environment's overlay applied, checked, and ready to resolve.
public struct Manifest: Sendable {
    /// The manifest file, absolute.
    public var url: URL
    /// The path as the user gave it, for diagnostics.
    public var displayPath: String
    /// The manifest's folder: relative paths in the manifest are relative to it.
    public var directory: URL { url.deletingLastPathComponent() }
    /// The `--environment` applied, if any.
    public var environment: String?
    /// Every environment the manifest declares.
    public var environmentNames: [String]
    public var providers: [String: ProviderDeclaration]
    public var secrets: [String: SecretDeclaration]
    public var vars: [String: String]
    public var outputDirectory: URL
    /// Sorted by name.
    public var functions: [FunctionDefinition]

    /// The lock file beside the manifest.
    public var lockURL: URL { Self.lockURL(inFolder: directory) }

    static func lockURL(inFolder folder: URL) -> URL { folder.appendingPathComponent("inject-secrets.lock") }

    /// A path relative to the manifest's folder, as recorded in the lock and shown to people.
    public func relativePath(_ url: URL) -> String {
        let base = directory.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        if path.hasPrefix(base + "/") { return String(path.dropFirst(base.count + 1)) }
        return path
    }
}

/// A secret declared under `secrets:`.
public struct SecretDeclaration: Sendable, Hashable {
    public var name: String
    public var providerName: String
    public var providerType: String
    /// The id in the store; may use `${vars.*}` and `${env.*}`.
    public var id: Template
    public var policy: VersionPolicy
    public var location: SourceLocation
    /// `rotation:` with `defaults.rotation` merged in; nil when none applies.
    public var rotation: RotationPolicy? = nil
}

/// A function under `functions:`, with `defaults` merged in.
public struct FunctionDefinition: Sendable {
    public var name: String
    public var location: SourceLocation
    /// Sorted by key; `defaults.env` merged under the function's own keys.
    public var variables: [VariableDefinition]
    public var outputs: [OutputDefinition]
    /// The node of a `lambda:` deployment target, if any, for the pipeline commands.
    public var lambdaNode: YAMLNode?
    /// The secrets this function's `env` reads, sorted, each once.
    public let secretNames: [String]

    public init(name: String, location: SourceLocation, variables: [VariableDefinition], outputs: [OutputDefinition], lambdaNode: YAMLNode?) {
        self.name = name
        self.location = location
        self.variables = variables
        self.outputs = outputs
        self.lambdaNode = lambdaNode
        secretNames = Array(Set(variables.flatMap { $0.template.secretNames })).sorted()
    }
}

public struct VariableDefinition: Sendable, Hashable {
    public var key: String
    public var template: Template
    public var location: SourceLocation
}

/// One output file of a function. Only its standardized absolute path is stored, the URL and the
/// relative path are made on use: a manifest may have a million outputs, and a URL costs several
/// hundred bytes each.
public struct OutputDefinition: Sendable, Hashable {
    public var format: OutputFormat
    /// Absolute and standardized.
    public let absolutePath: String
    /// The UTF-8 offset in `absolutePath` where `path` starts.
    private let relativeStart: Int
    public var location: SourceLocation

    /// `absolutePath` (standardized) as written below `folder` (the manifest's, standardized), or as
    /// it is outside it.
    init(format: OutputFormat, absolutePath: String, manifestFolder folder: String, location: SourceLocation) {
        self.format = format
        self.absolutePath = absolutePath
        relativeStart = absolutePath.hasPrefix(folder + "/") ? folder.utf8.count + 1 : 0
        self.location = location
    }

    public var url: URL { URL(fileURLWithPath: absolutePath, isDirectory: false) }

    /// Relative to the manifest's folder; absolute outside it.
    public var path: String { String(absolutePath.utf8.dropFirst(relativeStart))! }
}
