import InjectSecretsKit

/// The kinds of store a manifest can name in `type:`. The engine knows none but the file store (its
/// reference store); the executable assembles the registry of every store the tool ships
/// (`ProviderRegistry.standard` in Sources/inject-secrets), as vals registers its providers outside its core.
package struct ProviderRegistry: Sendable {
    package var kinds: [any SecretProviderKind.Type]

    package init(kinds: [any SecretProviderKind.Type]) {
        self.kinds = kinds
    }

    package var typeNames: [String] { kinds.map { $0.typeName } }

    package func kind(named type: String) -> (any SecretProviderKind.Type)? {
        kinds.first { $0.typeName == type }
    }
}
