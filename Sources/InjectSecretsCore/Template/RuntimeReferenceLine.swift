import Foundation

/// The line `${ref.NAME}` renders for the AWS stores, in the grammar `InjectSecretsRuntime`'s
/// `RuntimeReference` parses (README, "Runtime fetch (library)"). The core does not link the runtime
/// library (a function links only that), so the grammar's words are written here once for the writing side;
/// `RuntimeReferenceRenderTests` proves that every line this writes parses back there to the same parts.
enum RuntimeReferenceLine {
    static let prefix = "inject-secrets:ref:v1"

    enum Store: String {
        case secretsManager = "secretsmanager"
        case ssm
    }

    enum Selector: Equatable {
        case version(String)
        case stage(String)
        /// SSM's latest version (Secrets Manager's is `stage=AWSCURRENT`).
        case current
    }

    static func line(store: Store, arn: String, selector: Selector, key: String?) -> String {
        var parts = [prefix, store.rawValue, arn]
        switch selector {
        case .version(let id): parts.append("version=" + id)
        case .stage(let label): parts.append("stage=" + label)
        case .current: parts.append("current")
        }
        if let key { parts.append("key=" + encodeKey(key)) }
        return parts.joined(separator: " ")
    }

    /// Every byte outside `%x21-7E`, and `%` itself, as `%XX` in upper-case hex: one spelling per key.
    static func encodeKey(_ key: String) -> String {
        var out = ""
        for byte in key.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

/// What `${ref.NAME}` asks for: the secret, the field, and whether it follows the current version.
public struct RuntimeReferenceRequest: Sendable, Hashable {
    public var field: String?
    /// `:current`: the function follows rotations by itself.
    public var follows: Bool
    /// The declaration's version policy.
    public var policy: VersionPolicy

    public init(field: String?, follows: Bool, policy: VersionPolicy) {
        self.field = field
        self.follows = follows
        self.policy = policy
    }
}

/// A kind of store whose references a function or its platform resolves at run time. Kinds that do not
/// conform (Vault, the file store) are refused for `${ref.*}` when the manifest is checked.
public protocol RuntimeReferencing: SecretProviderKind {
    /// Why `${ref.*}` cannot be written for `request`, checked offline (a field where the platform reads
    /// only whole values, `:current` on a pinned declaration). Empty when fine.
    static func runtimeReferenceProblems(_ request: RuntimeReferenceRequest) -> [String]

    /// The text the variable holds: for the version `version` of the secret the store names `locator`
    /// (its full ARN, its secret URL), or for the current version when `request.follows`. Throws a
    /// `ProviderFailure` when the store's answer lacks what the reference needs.
    static func runtimeReference(_ request: RuntimeReferenceRequest, version: String, locator: String?) throws -> String
}

extension RuntimeReferenceRequest {
    /// The AWS stores' selector: the version, or with `:current` the declaration's stage (else `current`
    /// as `current` spells it for this store).
    func awsSelector(version: String, current: RuntimeReferenceLine.Selector) -> RuntimeReferenceLine.Selector {
        guard follows else { return .version(version) }
        if case .stage(let label) = policy { return .stage(label) }
        return current
    }

    /// `:current` on a declaration pinned to one version contradicts itself.
    var pinnedButFollowing: String? {
        guard follows, case .version(let id) = policy else { return nil }
        return "':current' follows the store's current version, but the secret is declared with version \(id); drop ':current' or the version"
    }

    /// The ARN an AWS answer must carry: the runtime reads by full ARN.
    static func arn(_ locator: String?, service: String) throws -> String {
        guard let locator, locator.hasPrefix("arn:") else {
            throw ProviderFailure(.invalidResponse, "\(service) gave no ARN for the secret, which the reference must name")
        }
        return locator
    }
}
