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
        let role = request.purpose == .render ? secretsUser : reader
        let names = Array(Set(request.secrets.map { secret -> String in
            // A secret id is the secret's name (a `name/version` id names its secret all the same).
            String(secret.id.split(separator: "/", omittingEmptySubsequences: true).first ?? Substring(secret.id))
        })).sorted()
        let assignments: [JSONValue] = names.map { name in
            .object([
                "role": .string(role.name),
                "roleDefinitionId": .string("/providers/Microsoft.Authorization/roleDefinitions/\(role.id)"),
                "scope": .string("\(vaultPlaceholder)/secrets/\(name)"),
                "vault": .string(vaultURL),
                "secret": .string(name),
            ])
        }
        var text = ""
        for name in names {
            text += "az role assignment create --role \"\(role.name)\" --assignee \"$PRINCIPAL_ID\" --scope \"$(az keyvault show --name \(vaultName) --query id -o tsv)/secrets/\(name)\"\n"
        }
        let notes = [
            "\(vaultPlaceholder) is the vault's Azure resource id (/subscriptions/.../resourceGroups/.../providers/Microsoft.KeyVault/vaults/\(vaultName)): az keyvault show --name \(vaultName) --query id -o tsv",
            request.purpose == .render
                ? "Key Vault Secrets User reads secret values; scoped to each secret it reaches no other secret of the vault. The vault must use the Azure RBAC permission model (not access policies)"
                : "Key Vault Reader reads secret properties and version lists, never a value. The vault must use the Azure RBAC permission model (not access policies)",
        ]
        return AccessPolicy(document: .array(assignments), text: text, notes: notes)
    }
}

extension AzureKeyVaultKind: AccessPolicyDescribing {
    package static func accessPolicy(_ request: AccessPolicyRequest, settings: Settings) throws -> AccessPolicy {
        try KeyVaultPolicy.describe(request, settings: settings)
    }
}
