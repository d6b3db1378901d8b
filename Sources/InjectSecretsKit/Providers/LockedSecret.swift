/// One secret as the lock records it (`LockFile.SecretEntry`): the version its policy selected and the
/// store's full name. Stores read it to name exact resources in an access policy.
package struct LockedSecret: Sendable, Equatable {
    package var provider: String
    package var type: String
    package var id: String
    package var policy: String
    package var version: String
    /// The store's full name (the ARN for AWS), when it has one.
    package var locator: String?

    package init(provider: String, type: String, id: String, policy: String, version: String, locator: String? = nil) {
        self.provider = provider
        self.type = type
        self.id = id
        self.policy = policy
        self.version = version
        self.locator = locator
    }

    /// Whether this entry records the same declaration (provider, type, id, policy).
    package func declares(provider: String, type: String, id: String, policy: String) -> Bool {
        self.provider == provider && self.type == type && self.id == id && self.policy == policy
    }
}
