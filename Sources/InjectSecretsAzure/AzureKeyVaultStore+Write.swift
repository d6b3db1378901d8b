import Foundation
import InjectSecretsKit

/// Rotation on Azure Key Vault: `PUT /secrets/{name}?api-version=...` with `{"value": ...}` (Set
/// Secret), which makes a new version, the latest. The version is the last segment of the answer's `id`.
/// Sent through the same challenge flow as reads: without a cached challenge the first attempt goes
/// without token or body, as the SDKs do, so the value only ever travels with a token.
extension AzureKeyVaultProvider: SecretWriting {
    package func write(_ reference: SecretReference, value: SecretValue, expectedCurrent: String?) async throws -> String {
        do {
            return try await setSecret(reference, value: value)
        } catch let failure as ProviderFailure {
            throw failure.during(.write, of: locator(reference.id))
        }
    }

    private func setSecret(_ reference: SecretReference, value: SecretValue) async throws -> String {
        let problems = AzureKeyVaultKind.problems(with: reference)
        if !problems.isEmpty { throw ProviderFailure(.configuration, problems.joined(separator: "; ")) }
        var components = URLComponents(url: vault.vaultURL, resolvingAgainstBaseURL: false)!
        components.percentEncodedPath = "/secrets/\(reference.id)"
        components.queryItems = [URLQueryItem(name: "api-version", value: vault.apiVersion)]
        let url = components.url!
        let body = Data(JSONValue.object(["value": .string(value.text)]).serialized().utf8)
        let vaultKey = "\(vault.vaultURL.scheme ?? "")://\(vault.vaultURL.host?.lowercased() ?? ""):\(vault.vaultURL.port ?? -1)"

        func put(_ token: AzureAccessToken?) async throws -> HTTPResponse {
            var headers = [("Accept", "application/json"), ("Content-Type", "application/json")]
            if let token { headers.append(("Authorization", "Bearer \(token.token)")) }
            return try await vault.http.send(HTTPRequest(method: "PUT", url: url, headers: headers, body: token == nil ? Data() : body))
        }
        func answer(_ response: HTTPResponse, forceRefresh: Bool) async throws -> HTTPResponse {
            guard response.status == 401, let header = response.header("WWW-Authenticate"), let challenge = BearerChallenge(header: header) else {
                return response
            }
            if let reason = challenge.mismatch(vaultHost: url.host ?? "") {
                throw ProviderFailure(.authentication, reason)
            }
            await vault.challenges.store(challenge, for: vaultKey)
            let token = try await vault.credential.token(scope: challenge.scope, challengeTenant: challenge.tenantID, forceRefresh: forceRefresh)
            return try await put(token)
        }

        let outcome: RetryPolicy.Outcome
        do {
            outcome = try await vault.retry.send({ _ in
                if let challenge = await vault.challenges.challenge(for: vaultKey) {
                    let token = try await vault.credential.token(scope: challenge.scope, challengeTenant: challenge.tenantID)
                    return try await answer(try await put(token), forceRefresh: true)
                }
                return try await answer(try await put(nil), forceRefresh: false)
            }, retrying: KeyVaultClient.retryable)
        } catch let failure as RetryFailure {
            throw failure.providerFailure(reaching: "the vault")
        }
        let response = outcome.response
        guard response.status == 200 else {
            let error = KeyVaultError(response)
            let kind = StatusTable.kind(status: response.status, codes: [error.innerCode, error.code])
            let hint = response.status == 403 ? " (writing needs the 'Key Vault Secrets Officer' role or a 'set' access policy)" : ""
            throw ProviderFailure(
                kind, "Key Vault refused the write (\(response.status))\(hint)\(outcome.attemptsNote)",
                relayed: error.summary(status: response.status))
        }
        guard let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any], let id = json["id"] as? String,
            let version = Self.version(ofID: id)
        else {
            throw ProviderFailure(.invalidResponse, "the answer has no id with a version")
        }
        return version
    }
}
