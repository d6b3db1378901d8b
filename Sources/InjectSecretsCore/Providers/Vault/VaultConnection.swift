import Foundation

/// A Vault token. Prints redacted: a token is as sensitive as the secrets it reads.
struct VaultToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let text: String
    init(_ text: String) { self.text = text }
    var description: String { "<redacted>" }
    var debugDescription: String { "<redacted>" }
    var customMirror: Mirror { Mirror(self, children: [:]) }
}

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

    /// "Vault said: ..." or "", for the end of a message.
    var saidNote: String {
        let text = errorsText
        return text.isEmpty ? "" : ": Vault said: \(text)"
    }
}

/// A status worth another attempt (429, 412, 5xx), thrown inside the retry loop.
struct VaultRetryableStatus: Error {
    var response: VaultResponse
    var retryAfter: TimeInterval?
}

/// One Vault server as the provider talks to it: address, namespace, retries. Knows nothing of KV.
struct VaultConnection: Sendable {
    var provider: String
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
    /// names the operation for messages ("reading secret/data/app/db for db (app/db)").
    func send(
        _ method: String, _ path: String, query: String? = nil, token: VaultToken?, json: [String: Any]? = nil,
        what: String
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

    func send(_ request: HTTPRequest, what: String) async throws -> VaultResponse {
        do {
            let (response, _) = try await retry.run({ _ in
                let answer = try await client.send(request)
                let response = VaultResponse(status: answer.status, body: answer.body)
                switch answer.status {
                case 429, 412, 500, 502, 503, 504:
                    let after = answer.header("Retry-After").flatMap { TimeInterval($0.trimmingCharacters(in: .whitespaces)) }
                    throw VaultRetryableStatus(response: response, retryAfter: after)
                default:
                    return response
                }
            }, classify: { error in
                switch error {
                case let status as VaultRetryableStatus:
                    if let after = status.retryAfter { return .retryAfter(after) }
                    return .retry
                case is HTTPTransportError:
                    return .retry
                default:
                    return .fail
                }
            })
            return response
        } catch let failure as RetryFailure {
            throw self.failure(failure.underlying, attemptsNote: failure.attemptsNote, what: what)
        } catch {
            throw self.failure(error, attemptsNote: "", what: what)
        }
    }

    private func failure(_ error: Error, attemptsNote: String, what: String) -> ProviderFailure {
        let prefix = "vault provider '\(provider)': \(what)"
        switch error {
        case let status as VaultRetryableStatus:
            let response = status.response
            switch response.status {
            case 429:
                return ProviderFailure(.throttled, "\(prefix): rate limited by Vault (429)\(attemptsNote)\(response.saidNote)")
            case 503:
                return ProviderFailure(
                    .unreachable,
                    "\(prefix): Vault is sealed or unavailable (503)\(attemptsNote)\(response.saidNote)")
            default:
                return ProviderFailure(
                    .unreachable, "\(prefix): Vault answered \(response.status)\(attemptsNote)\(response.saidNote)")
            }
        case let transport as HTTPTransportError:
            return ProviderFailure(
                .unreachable, "\(prefix): cannot reach Vault at \(address.absoluteString)\(attemptsNote): \(transport.underlying)")
        case let violation as EndpointPolicy.Violation:
            return ProviderFailure(.configuration, "\(prefix): \(violation.message)")
        case let failure as ProviderFailure:
            return failure
        default:
            return ProviderFailure(.unreachable, "\(prefix): \(error)")
        }
    }

    /// The failure for an answer that is neither success nor retried: 400, 401, 403, 404, ...
    func failure(for response: VaultResponse, what: String, notFound: ProviderFailure.Kind = .notFound) -> ProviderFailure {
        let prefix = "vault provider '\(provider)': \(what)"
        let said = response.saidNote
        switch response.status {
        case 401, 403:
            let extra = ["", "permission denied"].contains(response.errorsText) ? "" : said
            return ProviderFailure(.accessDenied, "\(prefix): permission denied (\(response.status))\(extra)")
        case 404:
            if said.contains("namespace not found") {
                return ProviderFailure(
                    .configuration, "\(prefix): namespace '\(namespace ?? "")' not found (404)\(said)")
            }
            return ProviderFailure(notFound, "\(prefix): not found (404)\(said)")
        default:
            return ProviderFailure(.invalidResponse, "\(prefix): Vault answered \(response.status)\(said)")
        }
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
