import Foundation
import InjectSecretsKit

/// The provider's token for one run: logs in once, on first use, however many reads ask at once; hands
/// the same token to every read; and revokes it at the end of the run if the login created it.
actor VaultSession {
    let connection: VaultConnection
    let method: VaultAuthMethod
    let environment: [String: String]
    private var login: Task<VaultToken, Error>?
    private var finished = false

    init(connection: VaultConnection, method: VaultAuthMethod, environment: [String: String]) {
        self.connection = connection
        self.method = method
        self.environment = environment
    }

    /// The run's token. A failed login is remembered too, so a bad credential costs one login attempt
    /// per run, not one per secret.
    func token() async throws -> VaultToken {
        if finished {
            throw ProviderFailure(.configuration, "used after the run finished")
        }
        if let login { return try await login.value }
        let connection = connection, method = method, environment = environment
        let task = Task { try await Self.logIn(connection: connection, method: method, environment: environment) }
        login = task
        return try await task.value
    }

    /// The token of a login that finished, without starting one.
    func tokenInUse() async -> VaultToken? {
        try? await login?.value
    }

    /// Revokes the token if this run created it by a login (`POST auth/token/revoke-self`); a token the
    /// pipeline supplied (VAULT_TOKEN, ~/.vault-token) is left alone. Returns a warning when the
    /// revocation failed; the token then lives until its TTL.
    func finish() async -> String? {
        guard !finished else { return nil }
        finished = true
        guard let login else { return nil }
        self.login = nil
        guard method.createsToken, let token = try? await login.value else { return nil }
        do {
            let response = try await connection.send(
                "POST", "auth/token/revoke-self", token: token, what: "revoking the token of this run's login")
            if response.status == 204 || response.status == 200 { return nil }
            return connection.failure(for: response, what: "revoking the token of this run's login").message
        } catch {
            return (error as? ProviderFailure)?.message ?? "revoking the token failed"
        }
    }

    // MARK: - Logins

    private static func logIn(
        connection: VaultConnection, method: VaultAuthMethod, environment: [String: String]
    ) async throws -> VaultToken {
        switch method {
        case .token(let variable, let file):
            if let text = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
                return VaultToken(text)
            }
            if let file, let data = try Self.readCredentialFile(file, what: "token") {
                let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if !text.isEmpty { return VaultToken(text) }
            }
            let fileNote = file.map { "\($0.path) holds none" } ?? "no token file is known"
            throw ProviderFailure(
                .authentication,
                "no Vault token: \(variable) is not set and \(fileNote); set \(variable), run `vault login` (or `bao login`), or configure an 'auth' method")

        case .appRole(let mount, let roleIDSource, let secretIDSource):
            let roleID = try credential(roleIDSource, what: "the AppRole role id", environment: environment)
            let secretID = try credential(secretIDSource, what: "the AppRole secret id", environment: environment)
            return try await postLogin(
                connection: connection, mount: mount, method: method,
                body: ["role_id": roleID, "secret_id": secretID])

        case .jwt(let mount, let role, let source):
            let jwt: String
            switch source {
            case .credential(let credentialSource):
                jwt = try credential(credentialSource, what: "the JWT", environment: environment)
            case .githubActions(let audience):
                jwt = try await githubActionsToken(connection: connection, audience: audience, environment: environment)
            }
            return try await postLogin(
                connection: connection, mount: mount, method: method, body: ["role": role, "jwt": jwt])

        case .kubernetes(let mount, let role, let tokenFile):
            let jwt = try credential(
                .file(tokenFile), what: "the Kubernetes service-account token",
                environment: environment)
            return try await postLogin(
                connection: connection, mount: mount, method: method, body: ["role": role, "jwt": jwt])
        }
    }

    private static func postLogin(
        connection: VaultConnection, mount: String, method: VaultAuthMethod, body: [String: String]
    ) async throws -> VaultToken {
        let what = "login with \(method.displayName)"
        let response = try await connection.send(
            "POST", "auth/\(vaultPathEncoded(mount))/login", token: nil, json: body, what: what)
        guard response.status == 200 else {
            throw connection.failure(for: response, what: what, asking: .credential)
        }
        guard let auth = response.json?["auth"] as? [String: Any], let token = auth["client_token"] as? String,
            !token.isEmpty
        else {
            throw ProviderFailure(
                .invalidResponse, "\(what): the answer holds no auth.client_token")
        }
        return VaultToken(token)
    }

    /// A credential from an environment variable or a file, whitespace trimmed. The message names where
    /// it was looked for, never what was found.
    private static func credential(
        _ source: VaultCredentialSource, what: String, environment: [String: String]
    ) throws -> String {
        switch source {
        case .environment(let name):
            guard let text = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                throw ProviderFailure(
                    .authentication, "\(what) is expected in environment variable \(name), which is not set")
            }
            return text
        case .file(let url):
            guard let data = try Self.readCredentialFile(url, what: what) else {
                throw ProviderFailure(
                    .authentication, "\(what) is expected in file \(url.path), but it does not exist")
            }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else {
                throw ProviderFailure(.authentication, "\(what) file \(url.path) is empty")
            }
            return text
        }
    }

    /// `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD` with `Authorization: Bearer
    /// $ACTIONS_ID_TOKEN_REQUEST_TOKEN`; the URL already carries a query, hence `&`.
    private static func githubActionsToken(
        connection: VaultConnection, audience: String?, environment: [String: String]
    ) async throws -> String {
        guard let base = environment["ACTIONS_ID_TOKEN_REQUEST_URL"], !base.isEmpty,
            let bearer = environment["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], !bearer.isEmpty
        else {
            throw ProviderFailure(
                .authentication,
                "jwt login needs a JWT: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set (a GitHub Actions job needs `permissions: id-token: write`); elsewhere set 'jwt-file' or 'jwt-env'")
        }
        var text = base
        if let audience {
            var unreserved = CharacterSet.alphanumerics
            unreserved.insert(charactersIn: "-._~")
            let encoded = audience.addingPercentEncoding(withAllowedCharacters: unreserved) ?? audience
            text += (base.contains("?") ? "&" : "?") + "audience=" + encoded
        }
        let what = "requesting a JWT from the GitHub Actions OIDC endpoint"
        guard let url = URL(string: text), url.host != nil else {
            throw ProviderFailure(
                .configuration, "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL")
        }
        let request = HTTPRequest(
            method: "GET", url: url,
            headers: [("Authorization", "Bearer \(bearer)"), ("Accept", "application/json; api-version=2.0")])
        let response = try await connection.send(request, what: what)
        guard response.status == 200 else {
            throw ProviderFailure(
                .authentication, "\(what) failed with HTTP \(response.status)")
        }
        guard let value = response.json?["value"] as? String, !value.isEmpty else {
            throw ProviderFailure(.invalidResponse, "\(what): the answer holds no 'value'")
        }
        return value
    }

    /// A token or secret-id file's bytes, nil when it does not exist; read through `BoundedFile`, so a FIFO,
    /// a folder or a huge file is refused by name instead of hanging the run or filling its memory.
    private static func readCredentialFile(_ url: URL, what: String) throws -> Data? {
        do {
            return try BoundedFile.read(url.path, limit: BoundedFile.credentialLimit)
        } catch let error as FilesystemError {
            throw ProviderFailure(
                .authentication, "\(what) is expected in file \(url.path), but \(error.clause)")
        }
    }
}
