import Foundation
import InjectSecretsKit

/// Where a credential for a Vault login comes from. Credentials are never written in the manifest: the
/// manifest names an environment variable or a file, and the value is read when the run logs in.
package enum VaultCredentialSource: Sendable, Hashable, CustomStringConvertible {
    case environment(String)
    case file(URL)

    package var description: String {
        switch self {
        case .environment(let name): return "environment variable \(name)"
        case .file(let url): return "file \(url.path)"
        }
    }
}

/// How the provider gets a Vault token.
package enum VaultAuthMethod: Sendable, Hashable {
    /// A token the pipeline already has: an environment variable (VAULT_TOKEN by default), else a file
    /// (~/.vault-token by default). Such a token is not ours, so it is never revoked.
    case token(variable: String, file: URL?)
    /// `POST auth/{mount}/login` with a role id and a secret id.
    case appRole(mount: String, roleID: VaultCredentialSource, secretID: VaultCredentialSource)
    /// `POST auth/{mount}/login` with a role and a JWT from a file, a variable or the GitHub Actions
    /// OIDC endpoint.
    case jwt(mount: String, role: String, jwt: VaultJWTSource)
    /// `POST auth/{mount}/login` with a role and the pod's service-account token.
    case kubernetes(mount: String, role: String, tokenFile: URL)

    /// The name used in messages.
    package var displayName: String {
        switch self {
        case .token: return "token"
        case .appRole(let mount, _, _): return "approle (auth/\(mount))"
        case .jwt(let mount, let role, _): return "jwt (auth/\(mount), role \(role))"
        case .kubernetes(let mount, let role, _): return "kubernetes (auth/\(mount), role \(role))"
        }
    }

    /// Whether a login creates a token this run owns and must revoke at its end.
    package var createsToken: Bool {
        if case .token = self { return false }
        return true
    }
}

/// Where a JWT for the jwt auth method comes from.
package enum VaultJWTSource: Sendable, Hashable, CustomStringConvertible {
    case credential(VaultCredentialSource)
    /// The GitHub Actions OIDC endpoint: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...` with
    /// `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`. A nil audience keeps GitHub's default.
    case githubActions(audience: String?)

    package var description: String {
        switch self {
        case .credential(let source): return source.description
        case .githubActions: return "the GitHub Actions OIDC endpoint"
        }
    }
}

/// Reads the `auth:` block of a vault provider, with the place of every error.
enum VaultAuthSettings {
    static let methods = ["token", "approle", "jwt", "kubernetes"]
    static let keysByMethod: [String: [String]] = [
        "token": ["method", "token-env", "token-file"],
        "approle": ["method", "mount", "role-id-env", "role-id-file", "secret-id-env", "secret-id-file"],
        "jwt": ["method", "mount", "role", "jwt-file", "jwt-env", "audience"],
        "kubernetes": ["method", "mount", "role", "token-file"],
    ]
    static let defaultServiceAccountTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

    static func parse(_ node: YAMLNode?, declaration: ProviderDeclaration) throws -> VaultAuthMethod {
        let context = Context(declaration: declaration)
        guard let node, !node.isNull else {
            return .token(variable: "VAULT_TOKEN", file: context.homeFile(".vault-token"))
        }
        guard let pairs = node.mapping else {
            throw InjectSecretsError.badInput(
                "'auth' of provider '\(declaration.name)' must be a mapping such as {method: approle, ...}, found \(node.kindName)",
                at: node.location)
        }
        let methodNode = node["method"]
        guard let method = methodNode?.scalar, !method.isEmpty else {
            throw InjectSecretsError.badInput(
                "'auth' of provider '\(declaration.name)' needs 'method' (one of \(methods.joined(separator: ", ")))",
                at: node.location)
        }
        guard let allowed = keysByMethod[method] else {
            let hint = method == "oidc"
                ? "; a pipeline logs in to the JWT/OIDC auth method with 'method: jwt' (set 'mount' if it is mounted elsewhere)"
                : didYouMean(method, methods)
            throw InjectSecretsError.badInput(
                "unknown auth method '\(method)' for provider '\(declaration.name)'; use one of \(methods.joined(separator: ", "))" + hint,
                at: methodNode?.location ?? node.location)
        }
        var collector = DiagnosticCollector()
        for pair in pairs {
            let key = pair.key.scalar ?? ""
            if allowed.contains(key) { continue }
            if ["role-id", "secret-id", "token", "jwt", "password"].contains(key) {
                collector.error(
                    "'\(key)' must not be written in the manifest (provider '\(declaration.name)'): name an environment variable with '\(key)-env' or a file with '\(key)-file'",
                    at: pair.key.location)
            } else {
                collector.error(
                    "unknown setting '\(key)' in 'auth' of provider '\(declaration.name)' for method \(method)"
                        + didYouMean(key, allowed), at: pair.key.location)
            }
        }
        try collector.throwIfErrors()
        let auth = Block(node: node, context: context, method: method)

        switch method {
        case "token":
            let variable = try auth.string("token-env") ?? "VAULT_TOKEN"
            let file = try auth.path("token-file") ?? context.homeFile(".vault-token")
            return .token(variable: variable, file: file)
        case "approle":
            return .appRole(
                mount: try auth.mount(default: "approle"),
                roleID: try auth.credential("role-id", required: true)!.source,
                secretID: try auth.credential("secret-id", required: true)!.source)
        case "jwt":
            let role = try auth.required("role")
            let source: VaultJWTSource
            if let credential = try auth.credential("jwt", required: false) {
                if let audience = node["audience"] {
                    throw InjectSecretsError.badInput(
                        "'audience' of provider '\(declaration.name)' applies only to the GitHub Actions OIDC token; remove it or remove '\(credential.settingName)'",
                        at: audience.location)
                }
                source = .credential(credential.source)
            } else {
                source = .githubActions(audience: try auth.string("audience"))
            }
            return .jwt(mount: try auth.mount(default: "jwt"), role: role, jwt: source)
        default:  // kubernetes
            return .kubernetes(
                mount: try auth.mount(default: "kubernetes"),
                role: try auth.required("role"),
                tokenFile: try auth.path("token-file") ?? URL(fileURLWithPath: defaultServiceAccountTokenFile))
        }
    }

    struct Context {
        var declaration: ProviderDeclaration

        var home: String? {
            if let home = declaration.environment["HOME"], !home.isEmpty { return home }
            return nil
        }

        func homeFile(_ name: String) -> URL? {
            let base = home ?? NSHomeDirectory()
            guard !base.isEmpty else { return nil }
            return URL(fileURLWithPath: base).appendingPathComponent(name)
        }

        /// `~/x` against HOME, absolute as is, relative against the manifest's folder.
        func resolve(_ text: String) -> URL {
            if text == "~" || text.hasPrefix("~/") {
                let base = home ?? NSHomeDirectory()
                return URL(fileURLWithPath: base + text.dropFirst()).standardizedFileURL
            }
            if text.hasPrefix("/") { return URL(fileURLWithPath: text).standardizedFileURL }
            return declaration.baseDirectory.appendingPathComponent(text).standardizedFileURL
        }
    }

    struct Block {
        var node: YAMLNode
        var context: Context
        var method: String
        var name: String { context.declaration.name }

        func string(_ key: String) throws -> String? {
            guard let value = node[key], !value.isNull else { return nil }
            guard let text = value.scalar, !text.isEmpty else {
                throw InjectSecretsError.badInput(
                    "'\(key)' in 'auth' of provider '\(name)' must be non-empty text, found \(value.kindName)",
                    at: value.location)
            }
            return text
        }

        func required(_ key: String) throws -> String {
            guard let text = try string(key) else {
                throw InjectSecretsError.badInput(
                    "auth method \(method) of provider '\(name)' needs '\(key)'", at: node.location)
            }
            return text
        }

        func path(_ key: String) throws -> URL? {
            try string(key).map(context.resolve)
        }

        func mount(default fallback: String) throws -> String {
            let text = try string("mount") ?? fallback
            let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            guard !trimmed.isEmpty else {
                throw InjectSecretsError.badInput(
                    "'mount' in 'auth' of provider '\(name)' is empty", at: node["mount"]?.location ?? node.location)
            }
            return trimmed
        }

        /// Exactly one of `BASE-env` and `BASE-file`.
        func credential(_ base: String, required: Bool) throws -> (source: VaultCredentialSource, settingName: String)? {
            let variable = try string("\(base)-env")
            let file = try path("\(base)-file")
            switch (variable, file) {
            case (let variable?, nil):
                return (.environment(variable), "\(base)-env")
            case (nil, let file?):
                return (.file(file), "\(base)-file")
            case (_?, _?):
                throw InjectSecretsError.badInput(
                    "auth method \(method) of provider '\(name)' takes '\(base)-env' or '\(base)-file', not both",
                    at: node["\(base)-file"]?.location ?? node.location)
            case (nil, nil):
                guard required else { return nil }
                throw InjectSecretsError.badInput(
                    "auth method \(method) of provider '\(name)' needs '\(base)-env' (an environment variable) or '\(base)-file' (a file)",
                    at: node.location)
            }
        }
    }
}
