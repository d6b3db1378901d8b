import InjectSecretsAWS
import InjectSecretsAzure
import InjectSecretsCore
import InjectSecretsVault
import InjectSecretsKit

extension ProviderRegistry {
    /// Every store this build knows: one line per store module. The engine takes it as a value
    /// (`InjectSecrets(registry:)`), so it depends on no store but its own file store.
    static let standard = ProviderRegistry(kinds: [
        FileStore.self, AWSSecretsManagerStore.self, AWSParameterStore.self, VaultKind.self, AzureKeyVaultKind.self,
    ])
}
