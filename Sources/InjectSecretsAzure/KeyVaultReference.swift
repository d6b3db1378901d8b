import Foundation
import InjectSecretsKit

/// App Service and Azure Functions resolve `@Microsoft.KeyVault(SecretUri=...)` app settings themselves at
/// start, with the app's managed identity; without a version in the URI they follow the current one.
extension AzureKeyVaultKind: RuntimeReferencing {
    package static func runtimeReferenceProblems(_ request: RuntimeReferenceRequest) -> [String] {
        var problems: [String] = []
        if let field = request.field {
            problems.append("App Service resolves a Key Vault reference to the whole secret, so it has no field '\(field)'; reference the whole secret, or store the field as a secret of its own")
        }
        if let pinned = request.pinnedButFollowing { problems.append(pinned) }
        return problems
    }

    package static func runtimeReference(_ request: RuntimeReferenceRequest, version: String, locator: String?) throws -> String {
        // The locator is the secret's URL without its version, `{vault-url}/secrets/{name}`.
        guard let locator, let url = URL(string: locator), url.path.hasPrefix("/secrets/") else {
            throw ProviderFailure(.invalidResponse, "Azure Key Vault gave no secret URL for the reference")
        }
        return "@Microsoft.KeyVault(SecretUri=\(locator)/\(request.follows ? "" : version))"
    }
}
