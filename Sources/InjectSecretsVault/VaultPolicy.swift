import Foundation
import InjectSecretsKit

/// The Vault (OpenBao) policy, in HCL, that a KV v2 provider needs: `read` on `{mount}/data/{path}` of
/// exactly the function's secrets to render, `read` on `{mount}/metadata/{path}` only for drift (which
/// never reads a value). The exact paths need no lock. A path with a policy glob (`*`, `+`) or a
/// character HCL would have to escape is refused, since it would grant more than the one secret.
package enum VaultPolicy {
    package static func describe(_ request: AccessPolicyRequest, settings: VaultKind.Settings) throws -> AccessPolicy {
        let node = request.declaration.node
        let mount = settings.mount, namespace = settings.namespace
        var diagnostics = DiagnosticCollector()
        var paths: [String] = []
        for secret in request.secrets {
            let path = secret.id.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
            if path.isEmpty || path.contains(where: { "*+\"\\{}\n\r\t".contains($0) } ) || path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) {
                diagnostics.error(
                    "secret '\(secret.name)' (\(secret.id)) of vault provider '\(request.declaration.name)': its path cannot be written as one exact Vault policy path (it holds a glob '*' or '+', a quote, a brace, a backslash or a '.' segment)",
                    at: secret.location ?? node.location)
                continue
            }
            paths.append(path)
        }
        try diagnostics.throwIfErrors()
        paths = Array(Set(paths)).sorted()
        let section = request.purpose == .render ? "data" : "metadata"
        let what = request.purpose == .render
            ? "render function '\(request.function ?? "")': read these secrets' values, nothing else"
            : "drift: read these secrets' metadata (versions, deletion), never a value"
        var text = "# inject-secrets \(what)\n"
        text += "# provider '\(request.declaration.name)', KV v2 mount '\(mount)'" + (namespace.map { ", namespace '\($0)'" } ?? "") + "\n"
        for path in paths {
            text += "\npath \"\(mount)/\(section)/\(path)\" {\n  capabilities = [\"read\"]\n}\n"
        }
        var notes: [String] = []
        if let namespace {
            notes.append("write this policy in namespace '\(namespace)' (bao policy write -namespace=\(namespace) ...): its paths are relative to it")
        }
        notes.append("tokens also need Vault's 'default' policy (every token has it unless created with -no-default-policy) to look up and revoke themselves")
        return AccessPolicy(document: .string(text), text: text, notes: notes)
    }
}

extension VaultKind: AccessPolicyDescribing {
    package static func accessPolicy(_ request: AccessPolicyRequest, settings: Settings) throws -> AccessPolicy {
        try VaultPolicy.describe(request, settings: settings)
    }
}
