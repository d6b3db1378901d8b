import Foundation
import InjectSecretsKit

/// The Azure role assignments a Key Vault provider needs (the vault must use the Azure RBAC permission
/// model): "Key Vault Secrets User" scoped to each secret the function reads, to render; "Key Vault
/// Reader" scoped to the same secrets, to drift (it reads properties and version lists, never a value).
/// The scope is `{vault resource id}/secrets/{name}`; the vault's resource id (subscription and resource
/// group) is not in the manifest, so it stays a placeholder that `az keyvault show` fills in.
package enum KeyVaultPolicy {
    package static let secretsUser = (name: "Key Vault Secrets User", id: "4633458b-17de-408a-b874-0445c86b69e6")
    package static let reader = (name: "Key Vault Reader", id: "21090545-7ca7-4776-b22c-e363652d74d2")
    package static let vaultPlaceholder = "{vault resource id}"

    package static func describe(_ request: AccessPolicyRequest, settings: AzureKeyVaultKind.Settings) throws -> AccessPolicy {
        let vaultURL = settings.vaultURL.absoluteString
        let vaultName = settings.vaultURL.host?.split(separator: ".").first.map(String.init) ?? vaultURL
        // A secret id is the secret's name (a `name/version` id names its secret all the same).
        func secretName(_ secret: PolicySecret) -> String {
            String(secret.id.split(separator: "/", omittingEmptySubsequences: true).first ?? Substring(secret.id))
        }
        // Render reads the value only of what it renders; `${ref.*}` needs the version list only.
        var roles: [String: (name: String, id: String)] = [:]
        for secret in request.secrets {
            let role = request.purpose == .drift || (request.purpose == .render && !secret.valueRead) ? reader : secretsUser
            // One secret rendered by value and referenced: the value role covers both.
            if roles[secretName(secret)]?.name != secretsUser.name { roles[secretName(secret)] = role }
        }
        let names = roles.keys.sorted()
        // At run time App Service resolves the references with the Function App's managed identity.
        let assignee = request.purpose == .runtime ? "$FUNCTION_APP_PRINCIPAL_ID" : "$PRINCIPAL_ID"
        let assignments: [JSONValue] = names.map { name in
            .object([
                "role": .string(roles[name]!.name),
                "roleDefinitionId": .string("/providers/Microsoft.Authorization/roleDefinitions/\(roles[name]!.id)"),
                "scope": .string("\(vaultPlaceholder)/secrets/\(name)"),
                "vault": .string(vaultURL),
                "secret": .string(name),
            ])
        }
        var text = ""
        for name in names {
            text += "az role assignment create --role \"\(roles[name]!.name)\" --assignee \"\(assignee)\" --scope \"$(az keyvault show --name \(vaultName) --query id -o tsv)/secrets/\(name)\"\n"
        }
        var notes = [
            "\(vaultPlaceholder) is the vault's Azure resource id (/subscriptions/.../resourceGroups/.../providers/Microsoft.KeyVault/vaults/\(vaultName)): az keyvault show --name \(vaultName) --query id -o tsv"
        ]
        if roles.values.contains(where: { $0.name == secretsUser.name }) {
            notes.append("Key Vault Secrets User reads secret values; scoped to each secret it reaches no other secret of the vault. The vault must use the Azure RBAC permission model (not access policies)")
        }
        if roles.values.contains(where: { $0.name == reader.name }) {
            notes.append("Key Vault Reader reads secret properties and version lists, never a value. The vault must use the Azure RBAC permission model (not access policies)")
        }
        if request.purpose == .runtime {
            notes.append("for the Function App (or App Service app) that resolves the @Microsoft.KeyVault references: $FUNCTION_APP_PRINCIPAL_ID is its managed identity, az functionapp identity show --name APP --resource-group GROUP --query principalId -o tsv (or the user-assigned identity named by keyVaultReferenceIdentity)")
        }
        return AccessPolicy(document: .array(assignments), text: text, notes: notes)
    }
}

extension AzureKeyVaultKind: AccessPolicyDescribing {
    package static func accessPolicy(_ request: AccessPolicyRequest, settings: Settings) throws -> AccessPolicy {
        try KeyVaultPolicy.describe(request, settings: settings)
    }
}
