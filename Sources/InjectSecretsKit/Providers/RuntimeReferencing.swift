import Foundation

/// What `${ref.NAME}` asks for: the secret, the field, and whether it follows the current version.
package struct RuntimeReferenceRequest: Sendable, Hashable {
    package var field: String?
    /// `:current`: the function follows rotations by itself.
    package var follows: Bool
    /// The declaration's version policy.
    package var policy: VersionPolicy

    package init(field: String?, follows: Bool, policy: VersionPolicy) {
        self.field = field
        self.follows = follows
        self.policy = policy
    }
}

/// A kind of store whose references a function or its platform resolves at run time. Kinds that do not
/// conform (Vault, the file store) are refused for `${ref.*}` when the manifest is checked.
package protocol RuntimeReferencing: SecretProviderKind {
    /// Why `${ref.*}` cannot be written for `request`, checked offline (a field where the platform reads
    /// only whole values, `:current` on a pinned declaration). Empty when fine.
    static func runtimeReferenceProblems(_ request: RuntimeReferenceRequest) -> [String]

    /// The text the variable holds: for the version `version` of the secret the store names `locator`
    /// (its full ARN, its secret URL), or for the current version when `request.follows`. Throws a
    /// `ProviderFailure` when the store's answer lacks what the reference needs.
    static func runtimeReference(_ request: RuntimeReferenceRequest, version: String, locator: String?) throws -> String
}

extension RuntimeReferenceRequest {
    /// `:current` on a declaration pinned to one version contradicts itself.
    package var pinnedButFollowing: String? {
        guard follows, case .version(let id) = policy else { return nil }
        return "':current' follows the store's current version, but the secret is declared with version \(id); drop ':current' or the version"
    }
}
