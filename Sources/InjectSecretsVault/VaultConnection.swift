import Foundation
import InjectSecretsKit

/// A Vault token: redacted as every credential is (`PrintsRedacted`), since it reads what the secrets do.
typealias VaultToken = CredentialText

/// Vault's answer to a request, with its `errors` array read out for messages.
struct VaultResponse: Sendable {
    var status: Int
    var body: Data
    /// The top-level JSON object, when the body is one.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }

    /// Vault's `errors` array as one bounded line (`RelayedText.line`) for a message; "" when there is none.
    var errorsText: String {
        guard let errors = json?["errors"] as? [Any] else { return "" }
        return RelayedText.line(errors.compactMap { $0 as? String }.map(Self.cleaned).filter { !$0.isEmpty }.joined(separator: "; "))
    }

    /// Vault wraps policy denials as "1 error occurred:\n\t* permission denied\n\n".
    private static func cleaned(_ text: String) -> String {
        var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        lines = lines.filter { !$0.isEmpty && !$0.hasSuffix("error occurred:") && !$0.hasSuffix("errors occurred:") }
        return lines.map { $0.hasPrefix("* ") ? String($0.dropFirst(2)) : $0 }.joined(separator: "; ")
    }
}

/// One Vault server as the provider talks to it: address, namespace, retries. Knows nothing of KV.
struct VaultConnection: Sendable {
    var address: URL
    var namespace: String?
    var client: HTTPClient
    var retry: RetryPolicy

    /// `address` + `/v1/` + `path` (already percent-encoded) + `?query`.
    func url(_ path: String, query: String? = nil) -> URL {
        var text = address.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        text += "/v1/" + path
        if let query { text += "?" + query }
        return URL(string: text) ?? address
    }

    /// Sends a request and retries 429, 412, 5xx and transport failures with jittered backoff. Returns
    /// any other answer as is; throws `ProviderFailure` when the attempts or time run out. `what`
    /// names a request other than the KV read or write itself ("login with AppRole").
    func send(
        _ method: String, _ path: String, query: String? = nil, token: VaultToken?, json: [String: Any]? = nil,
        what: String? = nil
    ) async throws -> VaultResponse {
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let token { headers.append(("X-Vault-Token", token.text)) }
        if let namespace { headers.append(("X-Vault-Namespace", namespace)) }
        var body = Data()
        if let json {
            body = (try? JSONSerialization.data(withJSONObject: json)) ?? Data()
            headers.append(("Content-Type", "application/json"))
        }
        let request = HTTPRequest(method: method, url: url(path, query: query), headers: headers, body: body)
        return try await send(request, what: what)
    }

    /// Answers worth another attempt: the standard ones and 412, which Vault sends while a replica has
    /// not yet caught up with a write (the Vault HTTP API overview, developer.hashicorp.com/vault/api-docs).
    static let retryable = RetryPolicy.Retryable(statuses: [412, 429, 500, 502, 503, 504])

    func send(_ request: HTTPRequest, what: String? = nil) async throws -> VaultResponse {
        let outcome: RetryPolicy.Outcome
        do {
            outcome = try await retry.send({ _ in try await client.send(request) }, retrying: Self.retryable)
        } catch let failure as RetryFailure {
            throw self.failure(failure, what: what)
        } catch {
            throw self.failure(RetryFailure(underlying: error, attempts: 1), what: what)
        }
        let response = VaultResponse(status: outcome.response.status, body: outcome.response.body)
        if Self.retryable.answer(outcome.response) {
            // Still throttled or failing when the attempts ran out: no caller can do more with it.
            throw failure(for: response, what: what, attemptsNote: outcome.attemptsNote)
        }
        return response
    }

    /// `what` leads the detail of a request that is not itself the KV read the failure is answered
    /// for (a login, a revocation); nil for the KV requests, whose operation and path say it all.
    private func failure(_ failure: RetryFailure, what: String?) -> ProviderFailure {
        failure.providerFailure(reaching: "Vault at \(address.absoluteString)", lead: what.map { "\($0): " } ?? "")
    }

    /// The failure for an answer that is not a success, its kind from `StatusTable` (Vault's `errors`
    /// text standing in for the code it does not have), Vault's `errors` relayed. `asking: .credential`
    /// for a login, whose refusals are 400s (the Vault HTTP API overview, developer.hashicorp.com/vault/api-docs).
    func failure(
        for response: VaultResponse, what: String? = nil, notFound: ProviderFailure.Kind = .notFound,
        asking subject: StatusTable.Subject = .path, attemptsNote: String = ""
    ) -> ProviderFailure {
        let lead = what.map { "\($0): " } ?? ""
        let said = response.errorsText
        var relayed: String? = said
        var kind = StatusTable.kind(status: response.status, codes: [said], asking: subject)
        let text: String
        switch response.status {
        case 400...499 where subject == .credential && ![403, 429].contains(response.status):
            text = "failed (\(response.status))"
        case 401:
            text = "the token was refused (401)\(attemptsNote)"
        case 403:
            // Vault's 403 is "permission denied" for a bad token and a policy denial alike.
            if ["", "permission denied"].contains(said) { relayed = nil }
            text = "permission denied (403)\(attemptsNote)"
        case 404 where said.contains("namespace not found"):
            kind = .configuration
            text = "namespace '\(namespace ?? "")' not found (404)"
        case 404:
            if kind == .notFound { kind = notFound }
            text = "not found (404)\(attemptsNote)"
        case 429:
            text = "rate limited by Vault (429)\(attemptsNote)"
        case 503:
            text = "Vault is sealed or unavailable (503)\(attemptsNote)"
        default:
            text = "Vault answered \(response.status)\(attemptsNote)"
        }
        return ProviderFailure(kind, lead + text, relayed: relayed)
    }
}

/// Percent-encodes each segment of a slash-separated Vault path.
func vaultPathEncoded(_ path: String) -> String {
    var allowed = CharacterSet.urlPathAllowed
    allowed.remove(charactersIn: "/?#%;")
    return path.split(separator: "/", omittingEmptySubsequences: true)
        .map { $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0) }
        .joined(separator: "/")
}
