/// The kinds of store a manifest can name in `type:`.
public struct ProviderRegistry: Sendable {
    public var kinds: [any SecretProviderKind.Type]

    public init(kinds: [any SecretProviderKind.Type]) {
        self.kinds = kinds
    }

    /// Every store this build knows.
    public static let standard = ProviderRegistry(kinds: [
        FileStore.self, AWSSecretsManagerStore.self, AWSParameterStore.self, VaultKind.self, AzureKeyVaultKind.self,
    ])

    public var typeNames: [String] { kinds.map { $0.typeName } }

    public func kind(named type: String) -> (any SecretProviderKind.Type)? {
        kinds.first { $0.typeName == type }
    }
}
