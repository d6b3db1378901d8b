import Foundation
import InjectSecretsKit

/// The Key Vault secrets REST API of one vault: GETs with the configured `api-version`, the bearer
/// challenge flow, token attachment and retries of throttling, 5xx and network failures.
struct KeyVaultClient: Sendable {
    /// The vault's base URL, without a trailing slash.
    var vaultURL: URL
    var apiVersion: String
    var credential: AzureCredential
    var challenges: ChallengeCache
    var http: HTTPClient
    var retry: RetryPolicy

    /// The vault as messages name it.
    var vaultName: String { vaultURL.absoluteString }

    private var vaultKey: String {
        "\(vaultURL.scheme ?? "")://\(vaultURL.host?.lowercased() ?? ""):\(vaultURL.port ?? -1)"
    }

    /// `/secrets/{name}/{version}`; `version` nil reads the latest (the SDKs' empty version).
    func secretURL(_ name: String, version: String?) -> URL {
        url(path: "/secrets/\(name)/\(version ?? "")", query: [])
    }

    func versionsURL(_ name: String, pageSize: Int) -> URL {
        url(path: "/secrets/\(name)/versions", query: [("maxresults", String(pageSize))])
    }

    private func url(path: String, query: [(String, String)]) -> URL {
        var components = URLComponents(url: vaultURL, resolvingAgainstBaseURL: false)!
        components.percentEncodedPath = path
        components.queryItems = [URLQueryItem(name: "api-version", value: apiVersion)]
            + query.map { URLQueryItem(name: $0.0, value: $0.1) }
        return components.url!
    }

    /// A `nextLink`, followed verbatim with our `api-version` set on it. It must point at this vault:
    /// a link elsewhere would carry the vault's token to another host.
    func followable(_ nextLink: String) -> URL? {
        guard var components = URLComponents(string: nextLink),
            components.scheme?.lowercased() == vaultURL.scheme?.lowercased(),
            components.host?.lowercased() == vaultURL.host?.lowercased(),
            (components.port ?? defaultPort(components.scheme)) == (vaultURL.port ?? defaultPort(vaultURL.scheme))
        else { return nil }
        var items = (components.percentEncodedQueryItems ?? []).filter { $0.name.lowercased() != "api-version" }
        items.append(URLQueryItem(name: "api-version", value: apiVersion.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)))
        components.percentEncodedQueryItems = items
        return components.url
    }

    private func defaultPort(_ scheme: String?) -> Int {
        scheme?.lowercased() == "http" ? 80 : 443
    }

    /// Why a request to the vault produced no usable answer.
    enum Failure: Error {
        /// The vault answered; the caller maps the status and error to a message with the secret's name.
        /// `attemptsNote` as `RetryFailure.attemptsNote`: retried, or stopped by the run's deadline.
        case answer(HTTPResponse, attemptsNote: String)
        case provider(ProviderFailure)
    }

    /// GETs `url`, retrying throttling (honouring Retry-After), 5xx and network failures. A final 429 or
    /// 5xx comes back as `.answer` so the caller can name the secret.
    func get(_ url: URL) async -> Result<HTTPResponse, Failure> {
        do {
            let outcome = try await retry.send({ _ in try await authorizedGet(url) }, retrying: Self.retryable)
            if Self.retryable.answer(outcome.response) {
                return .failure(.answer(outcome.response, attemptsNote: outcome.attemptsNote))
            }
            return .success(outcome.response)
        } catch let failure as RetryFailure {
            return .failure(.provider(failure.providerFailure(reaching: "the vault")))
        } catch {
            return .failure(.provider(ProviderFailure(.unreachable, "\(error)")))
        }
    }

    /// Throttling (429, which Key Vault sends with `Retry-After`: learn.microsoft.com/azure/key-vault/general/rest-error-codes) and any 5xx.
    static let retryable = RetryPolicy.Retryable { $0.status == 429 || (500...599).contains($0.status) }

    /// One GET with the challenge flow: the first request to a vault goes without a token (Key Vault
    /// answers 401 with its challenge), later ones carry the cached challenge's token; a 401 to a token
    /// brings a new challenge, which replaces the cached one, and the request is sent once more with a
    /// fresh token.
    private func authorizedGet(_ url: URL) async throws -> HTTPResponse {
        if let challenge = await challenges.challenge(for: vaultKey) {
            let token = try await credential.token(scope: challenge.scope, challengeTenant: challenge.tenantID)
            let response = try await http.send(request(url, token: token))
            guard response.status == 401 else { return response }
            return try await answerChallenge(in: response, url: url, forceRefresh: true)
        }
        let response = try await http.send(request(url, token: nil))
        guard response.status == 401 else { return response }
        return try await answerChallenge(in: response, url: url, forceRefresh: false)
    }

    private func answerChallenge(in response: HTTPResponse, url: URL, forceRefresh: Bool) async throws -> HTTPResponse {
        guard let header = response.header("WWW-Authenticate"), let challenge = BearerChallenge(header: header) else {
            // A 401 without a usable challenge: nothing to answer; the caller reports Key Vault's error.
            return response
        }
        if let reason = challenge.mismatch(vaultHost: url.host ?? "") {
            throw ProviderFailure(.authentication, reason)
        }
        await challenges.store(challenge, for: vaultKey)
        let token = try await credential.token(
            scope: challenge.scope, challengeTenant: challenge.tenantID, forceRefresh: forceRefresh)
        return try await http.send(request(url, token: token))
    }

    private func request(_ url: URL, token: AzureAccessToken?) -> HTTPRequest {
        var headers = [("Accept", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token.token)")) }
        return HTTPRequest(method: "GET", url: url, headers: headers)
    }
}

/// Key Vault's error body: `{"error":{"code","message","innererror":{"code"}}}`.
struct KeyVaultError {
    var code: String?
    var message: String?
    var innerCode: String?

    init(_ response: HTTPResponse) {
        let error = jsonObject(response.body)?["error"] as? [String: Any]
        code = error?["code"] as? String
        message = (error?["message"] as? String).map { issuerText($0, hiding: []) }
        innerCode = (error?["innererror"] as? [String: Any])?["code"] as? String
    }

    /// "403 Forbidden (SecretDisabled): Operation get is not allowed on a disabled secret."
    func summary(status: Int) -> String {
        var text = "\(status)"
        if let code { text += " \(code)" }
        if let innerCode { text += " (\(innerCode))" }
        if let message, !message.isEmpty { text += ": \(message)" }
        return text
    }
}
