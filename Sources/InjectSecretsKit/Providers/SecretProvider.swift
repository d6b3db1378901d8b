import Foundation

/// Which version of a secret a declaration asks for.
package enum VersionPolicy: Hashable, Sendable, CustomStringConvertible {
    /// The store's current version: AWSCURRENT, the latest SSM version, the newest live Vault version,
    /// the newest enabled Azure version, the file store's `current`.
    case current
    /// A concrete version id: a VersionId, a number, a 32-hex Azure version, a file store version key.
    case version(String)
    /// A staging label (`stage:AWSPREVIOUS`); only the AWS stores have labels.
    case stage(String)

    /// Parses the manifest's `version:` text.
    package init(parsing text: String) {
        if text.isEmpty || text == "current" {
            self = .current
        } else if text.hasPrefix("stage:") {
            self = .stage(String(text.dropFirst("stage:".count)))
        } else {
            self = .version(text)
        }
    }

    /// The form written in the manifest and the lock.
    package var description: String {
        switch self {
        case .current: return "current"
        case .version(let id): return id
        case .stage(let label): return "stage:\(label)"
        }
    }
}

/// One secret as a provider sees it: the manifest's name for it (for messages), its id in the store
/// (templates already expanded) and the version its policy asks for.
package struct SecretReference: Hashable, Sendable, CustomStringConvertible {
    package var name: String
    package var id: String
    package var policy: VersionPolicy

    package init(name: String, id: String, policy: VersionPolicy) {
        self.name = name
        self.id = id
        self.policy = policy
    }

    package var description: String { "\(name) (\(id))" }

    /// By name only: the references of one run have distinct names, and a drift of 20,000 secrets keys
    /// several dictionaries by reference, where hashing the id and policy too cost more than the answers.
    package func hash(into hasher: inout Hasher) {
        hasher.combine(name)
    }
}

/// A secret's value: prints as `<redacted>` (`PrintsRedacted`); `text` is read only where a value is
/// rendered.
package struct SecretValue: Sendable, Hashable, PrintsRedacted {
    package let text: String

    package init(_ text: String) {
        self.text = text
    }
}

/// A value read from a store, with the concrete version it came from.
package struct FetchedSecret: Sendable {
    /// The version the policy selected, as the store names it.
    package var version: String
    /// The store's full name for the secret where it has one (the ARN for AWS); recorded in the lock.
    package var locator: String?
    package var value: SecretValue

    package init(version: String, locator: String? = nil, value: SecretValue) {
        self.version = version
        self.locator = locator
        self.value = value
    }
}

/// What a store's metadata says about a secret, without reading its value.
package struct VersionStatus: Sendable, Hashable {
    /// What happened to the version the lock records.
    package enum LockedState: Sendable, Hashable {
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
    package var selected: String?
    package var locator: String?
    /// The state of the locked version; nil when no locked version was asked about.
    package var locked: LockedState?
    /// Facts worth telling, such as a rotation in flight (an `AWSPENDING` version).
    package var notes: [String]
    /// When the selected version was created, from the store's metadata; nil when the store gives no
    /// date (or was not asked: `VersionQuery.wantsDates`).
    package var created: Date?
    /// When the locked version (the selected one when nothing is locked) expires or expired: Azure's
    /// `attributes.exp`, Vault's scheduled `deletion_time`.
    package var expires: Date?

    package init(
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
package struct VersionQuery: Hashable, Sendable {
    package var reference: SecretReference
    package var lockedVersion: String?
    /// The rotation policy needs the selected version's creation date: a store where that costs calls
    /// of its own (Secrets Manager's ListSecretVersionIds) makes them only then.
    package var wantsDates: Bool

    package init(reference: SecretReference, lockedVersion: String?, wantsDates: Bool = false) {
        self.reference = reference
        self.lockedVersion = lockedVersion
        self.wantsDates = wantsDates
    }

    /// By the reference alone (its name): one run asks one query per reference.
    package func hash(into hasher: inout Hasher) {
        hasher.combine(reference)
    }
}

/// Why a store could not answer for one secret, in parts: what kind of failure, what the store was
/// doing and where, why, and what the store itself said. It never holds a value. The engine composes
/// the one message a user reads from these parts (`Diagnostic.storeFailure`), naming the secret and the
/// provider itself, so a store names neither.
package struct ProviderFailure: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable, Hashable {
        case notFound = "not found"
        case versionNotFound = "version not found"
        case accessDenied = "access denied"
        case authentication = "authentication failed"
        case unreachable = "unreachable"
        case throttled = "throttled"
        case invalidResponse = "invalid response"
        case configuration = "configuration"
    }

    /// What the engine asked of the store when it failed.
    package enum Operation: String, Sendable, Hashable {
        /// `fetch`: reading a value.
        case read
        /// `inspect`: reading metadata only.
        case inspect
        /// `SecretWriting.write`: writing a new version.
        case write

        /// The words a message starts with: "reading secret/app/db".
        package var verb: String {
            switch self {
            case .read: return "reading"
            case .inspect: return "reading the metadata of"
            case .write: return "writing"
            }
        }
    }

    package var kind: Kind
    /// Set by the store where it answers for a reference; nil only while a failure travels up from a
    /// layer that does not know the operation (a credential, a transport).
    package var operation: Operation?
    /// The store's own name for what it was asked about: a KV path (`secret/app/db`), a secret id or
    /// ARN, a parameter name, a Key Vault secret URL, an id in the file store's file.
    package var path: String?
    /// The cause, in this tool's words.
    package var detail: String
    /// What the store said (its error code and message), one bounded line (`RelayedText.line`); nil
    /// when it said nothing useful.
    package private(set) var relayed: String?
    /// The place in a file the failure is about (a malformed file store), if any.
    package var location: SourceLocation?

    package init(
        _ kind: Kind, _ detail: String, relayed: String? = nil, operation: Operation? = nil, path: String? = nil,
        at location: SourceLocation? = nil
    ) {
        self.kind = kind
        self.detail = detail
        self.operation = operation
        self.path = path
        self.location = location
        relay(relayed)
    }

    /// Sets what the store said, bounded to one line; empty text is nothing said.
    package mutating func relay(_ text: String?) {
        let line = text.map(RelayedText.line) ?? ""
        relayed = line.isEmpty ? nil : line
    }

    /// This failure as answered for a reference: the operation and path are filled in where the layer
    /// that failed (a login, a credential source) did not know them; a path set deeper is kept, since
    /// it is the more precise one (the metadata read that a value read fell back to).
    package func during(_ operation: Operation, of path: String) -> ProviderFailure {
        var failure = self
        if failure.operation == nil { failure.operation = operation }
        if failure.path == nil { failure.path = path }
        return failure
    }

    /// The store's part of a message: "reading secret/app/db: permission denied (403); the store said:
    /// ..." (`Diagnostic.storeFailure` puts the secret and the provider before it).
    package var message: String {
        var text = ""
        if let operation {
            text = operation.verb + (path.map { " \($0)" } ?? "") + ": "
        } else if let path {
            text = path + ": "
        }
        text += detail
        if let relayed { text += "; the store said: \(relayed)" }
        return text
    }

    package var description: String { message }
}

/// A secret store, as the engine uses it. What follows is the contract every store is tested against
/// (`ProviderConformance` in Tests, run by each store's test target on its real server).
///
/// A store may assume:
/// - each call holds distinct references: no two share both `id` and `policy` (the engine reads
///   each (provider, id, policy) once and hands the answer to every secret name that shares it), so a
///   store does not de-duplicate again;
/// - references already passed `SecretProviderKind.problems(with:)`, although a store still answers
///   a bad one with a `.configuration` failure rather than trusting that.
///
/// A store must:
/// - answer every reference it was given, with a value or a failure; a missing answer is reported as
///   an invalid response of the store (for `inspect`, an answer list shorter than the queries);
/// - fail with a `ProviderFailure` whose `kind` says what happened (`.notFound` for a secret that does
///   not exist, `.accessDenied` for a refusal of the credential), whose `operation` and `path` say what
///   it was doing and where, and whose `detail` and `relayed` text hold no value and no credential: a
///   store's answer echoing a request is relayed only through `RelayedText`;
/// - not name the secret or the provider in its failures: the engine does, once, for every store
///   alike;
/// - batch and run reads concurrently as the store allows, and answer per reference so that one
///   failure fails only its own secret.
package protocol SecretProvider: Sendable {
    /// The provider's name in the manifest.
    var name: String { get }

    /// Reads the values. Called once per run with every distinct reference of this provider.
    func fetch(_ references: [SecretReference]) async -> [SecretReference: Result<FetchedSecret, ProviderFailure>]

    /// Answers from metadata only, never reading a value: which version each policy selects now, and
    /// what became of the locked version. Used by `drift` and `render --dry-run`. One answer per query,
    /// in the order asked: a fleet's drift folds 20,000 answers, where keying them by query cost more
    /// than making them.
    func inspect(_ queries: [VersionQuery]) async -> [Result<VersionStatus, ProviderFailure>]

    /// Told, once the manifest is opened and checked, the ids that `inspect` will soon be asked about: a
    /// provider whose `inspect` lists metadata in paced pages may start now, with the calls `inspect`
    /// would make. Asked about other ids, `inspect` answers as if it had never been told.
    func willInspect(_ ids: [String])

    /// Called once when the run ends, success or not: a provider that logged in revokes what it created.
    func finish() async

    /// The credentials this provider holds now (a token it logged in for), so that the engine can
    /// remove them from any message; never printed. Asks nothing of a store.
    func credentialsInUse() async -> [String]
}

extension SecretProvider {
    package func willInspect(_ ids: [String]) {}
    package func finish() async {}
    package func credentialsInUse() async -> [String] { [] }
}

/// A provider as the manifest declares it, before anything is contacted.
package struct ProviderDeclaration: Sendable {
    package var name: String
    package var type: String
    /// The whole mapping of the declaration (with `type`), for the provider to read its own settings.
    package var node: YAMLNode
    /// The folder of the manifest: relative paths are relative to it.
    package var baseDirectory: URL
    package var environment: [String: String]
    /// The kind's `Settings`, once the manifest loader has read and checked them (what `validate`
    /// does): `make` and the access policy then use them as they are.
    package var settings: (any Sendable)?

    package init(name: String, type: String, node: YAMLNode, baseDirectory: URL, environment: [String: String]) {
        self.name = name
        self.type = type
        self.node = node
        self.baseDirectory = baseDirectory
        self.environment = environment
    }
}

/// One kind of store: knows its `type:` name, reads and checks its settings offline, and makes a
/// provider from them. `settings` is the only step that reads the declaration (through
/// `ProviderSettings`, the one reader of provider YAML), so `make`, the access policy and `validate` see
/// the same trimmed, checked values; `validate` builds no provider, actor or credential chain.
package protocol SecretProviderKind: Sendable {
    /// The declaration's settings, typed, trimmed and checked.
    associatedtype Settings: Sendable

    /// The `type:` value in the manifest.
    static var typeName: String { get }
    /// Settings keys besides `type`; anything else is an error with "did you mean".
    static var settingKeys: [String] { get }
    /// Reads and checks the settings, contacting nothing and building nothing. Errors carry the place
    /// of the offending setting.
    static func settings(_ declaration: ProviderDeclaration) throws -> Settings
    /// Builds the provider from checked settings, contacting nothing.
    static func make(_ settings: Settings) -> any SecretProvider

    /// Why this store cannot serve `reference`: an id it cannot name, a staging label where the store has
    /// none, a version id of the wrong shape. Checked offline, before any store is contacted, so these
    /// are bad input (exit 2) with the secret's place.
    static func problems(with reference: SecretReference) -> [String]
}

extension SecretProviderKind {
    package static func problems(with reference: SecretReference) -> [String] { [] }

    /// The declaration's settings: the ones the manifest loader read and checked, else read now.
    package static func checkedSettings(_ declaration: ProviderDeclaration) throws -> Settings {
        if let settings = declaration.settings as? Settings { return settings }
        return try settings(declaration)
    }

    /// The provider of a declaration: its settings, then `make`.
    package static func make(_ declaration: ProviderDeclaration) throws -> any SecretProvider {
        make(try checkedSettings(declaration))
    }
}
