import Foundation

/// Which version of a secret a declaration asks for.
public enum VersionPolicy: Hashable, Sendable, CustomStringConvertible {
    /// The store's current version: AWSCURRENT, the latest SSM version, the newest live Vault version,
    /// the newest enabled Azure version, the file store's `current`.
    case current
    /// A concrete version id: a VersionId, a number, a 32-hex Azure version, a file store version key.
    case version(String)
    /// A staging label (`stage:AWSPREVIOUS`); only the AWS stores have labels.
    case stage(String)

    /// Parses the manifest's `version:` text.
    public init(parsing text: String) {
        if text.isEmpty || text == "current" {
            self = .current
        } else if text.hasPrefix("stage:") {
            self = .stage(String(text.dropFirst("stage:".count)))
        } else {
            self = .version(text)
        }
    }

    /// The form written in the manifest and the lock.
    public var description: String {
        switch self {
        case .current: return "current"
        case .version(let id): return id
        case .stage(let label): return "stage:\(label)"
        }
    }
}

/// One secret as a provider sees it: the manifest's name for it (for messages), its id in the store
/// (templates already expanded) and the version its policy asks for.
public struct SecretReference: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var id: String
    public var policy: VersionPolicy

    public init(name: String, id: String, policy: VersionPolicy) {
        self.name = name
        self.id = id
        self.policy = policy
    }

    public var description: String { "\(name) (\(id))" }
}

/// A secret's value. It prints as `<redacted>` in every interpolation, dump and debug description so that
/// no message, log line or test failure can carry it by accident; `text` is read only where a value is
/// rendered.
public struct SecretValue: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let text: String

    public init(_ text: String) {
        self.text = text
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// A value read from a store, with the concrete version it came from.
public struct FetchedSecret: Sendable {
    /// The version the policy selected, as the store names it.
    public var version: String
    /// The store's full name for the secret where it has one (the ARN for AWS); recorded in the lock.
    public var locator: String?
    public var value: SecretValue

    public init(version: String, locator: String? = nil, value: SecretValue) {
        self.version = version
        self.locator = locator
        self.value = value
    }
}

/// What a store's metadata says about a secret, without reading its value.
public struct VersionStatus: Sendable, Hashable {
    /// What happened to the version the lock records.
    public enum LockedState: Sendable, Hashable {
        /// It still exists and can be read.
        case present
        /// It still exists but has lost every label that kept it (AWS: no staging label left, so AWS
        /// may delete it at any time).
        case unlabeled
        /// Deleted, destroyed, disabled or never existed; `reason` says which.
        case gone(reason: String)
    }

    /// The version the policy selects in the store now; nil when the policy selects nothing (a label on
    /// no version).
    public var selected: String?
    public var locator: String?
    /// The state of the locked version; nil when no locked version was asked about.
    public var locked: LockedState?
    /// Facts worth telling, such as a rotation in flight (an `AWSPENDING` version).
    public var notes: [String]
    /// When the selected version was created, from the store's metadata; nil when the store gives no
    /// date (or was not asked: `VersionQuery.wantsDates`).
    public var created: Date?
    /// When the locked version (the selected one when nothing is locked) expires or expired: Azure's
    /// `attributes.exp`, Vault's scheduled `deletion_time`.
    public var expires: Date?

    public init(
        selected: String?, locator: String? = nil, locked: LockedState? = nil, notes: [String] = [],
        created: Date? = nil, expires: Date? = nil
    ) {
        self.selected = selected
        self.locator = locator
        self.locked = locked
        self.notes = notes
        self.created = created
        self.expires = expires
    }
}

/// A question for `inspect`: the reference, and the version the lock holds for it, if any.
public struct VersionQuery: Hashable, Sendable {
    public var reference: SecretReference
    public var lockedVersion: String?
    /// The rotation policy needs the selected version's creation date: a store where that costs calls
    /// of its own (Secrets Manager's ListSecretVersionIds) makes them only then.
    public var wantsDates: Bool

    public init(reference: SecretReference, lockedVersion: String?, wantsDates: Bool = false) {
        self.reference = reference
        self.lockedVersion = lockedVersion
        self.wantsDates = wantsDates
    }
}

/// Why a store could not answer for one secret. The message names the secret, the store and the cause,
/// and never holds a value.
public struct ProviderFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case notFound = "not found"
        case versionNotFound = "version not found"
        case accessDenied = "access denied"
        case authentication = "authentication failed"
        case unreachable = "unreachable"
        case throttled = "throttled"
        case invalidResponse = "invalid response"
        case configuration = "configuration"
    }

    public var kind: Kind
    public var message: String
    /// The place in a file the failure is about (a malformed file store), if any.
    public var location: SourceLocation?

    public init(_ kind: Kind, _ message: String, at location: SourceLocation? = nil) {
        self.kind = kind
        self.message = message
        self.location = location
    }

    public var description: String { message }
}

/// A secret store. Implementations read every reference they are given, batched and concurrently as the
/// store allows, and answer per reference so that one failure names its own secret.
public protocol SecretProvider: Sendable {
    /// The provider's name in the manifest.
    var name: String { get }

    /// Reads the values. Called once per run with every distinct reference of this provider.
    func fetch(_ references: [SecretReference]) async -> [SecretReference: Result<FetchedSecret, ProviderFailure>]

    /// Answers from metadata only, never reading a value: which version each policy selects now, and
    /// what became of the locked version. Used by `drift` and `render --dry-run`.
    func inspect(_ queries: [VersionQuery]) async -> [VersionQuery: Result<VersionStatus, ProviderFailure>]

    /// Called once when the run ends, success or not: a provider that logged in revokes what it created.
    func finish() async

    /// The credentials this provider holds now (a token it logged in for), so that the engine can
    /// remove them from any message; never printed. Asks nothing of a store.
    func credentialsInUse() async -> [String]
}

extension SecretProvider {
    public func finish() async {}
    public func credentialsInUse() async -> [String] { [] }
}

/// A provider as the manifest declares it, before anything is contacted.
public struct ProviderDeclaration: Sendable {
    public var name: String
    public var type: String
    /// The whole mapping of the declaration (with `type`), for the provider to read its own settings.
    public var node: YAMLNode
    /// The folder of the manifest: relative paths are relative to it.
    public var baseDirectory: URL
    public var environment: [String: String]

    public init(name: String, type: String, node: YAMLNode, baseDirectory: URL, environment: [String: String]) {
        self.name = name
        self.type = type
        self.node = node
        self.baseDirectory = baseDirectory
        self.environment = environment
    }
}

/// One kind of store: knows its `type:` name, checks its settings offline and makes a provider.
public protocol SecretProviderKind: Sendable {
    /// The `type:` value in the manifest.
    static var typeName: String { get }
    /// Settings keys besides `type`; anything else is an error with "did you mean".
    static var settingKeys: [String] { get }
    /// Checks the settings and builds the provider, contacting nothing. Errors carry the place of the
    /// offending setting.
    static func make(_ declaration: ProviderDeclaration) throws -> any SecretProvider

    /// Why this store cannot serve `reference`: an id it cannot name, a staging label where the store has
    /// none, a version id of the wrong shape. Checked offline, before any store is contacted, so these
    /// are bad input (exit 2) with the secret's place.
    static func problems(with reference: SecretReference) -> [String]
}

extension SecretProviderKind {
    public static func problems(with reference: SecretReference) -> [String] { [] }
}
