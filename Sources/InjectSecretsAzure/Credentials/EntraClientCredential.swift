import Foundation
import InjectSecretsKit

/// A service principal's client-credentials grant against Entra ID
/// (`POST {authority}/{tenant}/oauth2/v2.0/token`), proven either by a client secret (AZURE_CLIENT_SECRET)
/// or by a federated token (AZURE_FEDERATED_TOKEN_FILE: AKS workload identity, GitHub Actions OIDC).
struct EntraClientCredential: AzureTokenSource {
    enum Proof: Sendable {
        case secret(CredentialText)
        /// The file is read again for every token request, so a rotated projected token is picked up.
        case federatedTokenFile(String)
    }

    var authority: URL
    var tenant: String
    var clientID: String
    var proof: Proof
    var client: HTTPClient
    var retry = RetryPolicy(maxAttempts: 4, baseDelay: 0.2, maxDelay: 10, timeLimit: 60)

    var tenantID: String? { tenant }

    var label: String {
        switch proof {
        case .secret: return "client secret of client '\(clientID)' in tenant '\(tenant)'"
        case .federatedTokenFile(let path): return "workload identity of client '\(clientID)' in tenant '\(tenant)' (AZURE_FEDERATED_TOKEN_FILE \(path))"
        }
    }

    func requestToken(scope: String, tenant requestedTenant: String?) async throws -> AzureAccessToken {
        let tenant = requestedTenant ?? self.tenant
        guard tenant.range(of: "^[A-Za-z0-9._-]+$", options: .regularExpression) != nil else {
            throw ProviderFailure(.configuration, "tenant '\(tenant)' is not a tenant id or domain (\(label))")
        }
        var fields = [("grant_type", "client_credentials"), ("client_id", clientID), ("scope", scope)]
        let hidden: [String]
        switch proof {
        case .secret(let secret):
            fields.append(("client_secret", secret.text))
            hidden = [secret.text]
        case .federatedTokenFile(let path):
            let assertion: String
            do {
                guard let data = try BoundedFile.read(path, limit: BoundedFile.credentialLimit) else {
                    throw FilesystemError(path: path, reason: "it does not exist")
                }
                assertion = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch let error as FilesystemError {
                throw ProviderFailure(.authentication, "cannot read the federated token file \(path) (AZURE_FEDERATED_TOKEN_FILE): \(error.clause)")
            }
            guard !assertion.isEmpty else {
                throw ProviderFailure(.authentication, "the federated token file \(path) (AZURE_FEDERATED_TOKEN_FILE) is empty")
            }
            fields.append(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
            fields.append(("client_assertion", assertion))
            hidden = [assertion]
        }
        let url = authority.appendingPathComponent(tenant).appendingPathComponent("oauth2/v2.0/token")
        let request = HTTPRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: formEncoded(fields))

        let response: HTTPResponse
        do {
            let outcome = try await retry.send({ _ in try await client.send(request) }, retrying: identityRetryable(startingUp: false))
            response = outcome.response
            guard response.status == 200 else { throw refusal(outcome, url: url, hiding: hidden) }
        } catch let failure as RetryFailure {
            throw describe(failure, url: url, hiding: hidden)
        }
        guard let json = jsonObject(response.body), let token = json["access_token"] as? String, !token.isEmpty,
            let lifetime = tokenLifetime(json)
        else {
            throw ProviderFailure(.invalidResponse, "Entra ID at \(authority.host ?? "") answered the token request for the \(label) without an access token and expiry")
        }
        return AzureAccessToken(token: token, expiresOn: lifetime.expiresOn, refreshOn: lifetime.refreshOn)
    }

    /// Entra's `error` and `error_description` (its AADSTS code and reason), never the secret or assertion.
    private func refusal(_ outcome: RetryPolicy.Outcome, url: URL, hiding hidden: [String]) -> ProviderFailure {
        let status = outcome.response.status
        var reason = "HTTP \(status)"
        if let json = jsonObject(outcome.response.body) {
            let code = (json["error"] as? String).map { issuerText($0, hiding: hidden) }
            let description = (json["error_description"] as? String).map { issuerText($0, hiding: hidden) }
            reason = [code, description].compactMap { $0 }.joined(separator: ": ")
            if reason.isEmpty { reason = "HTTP \(status)" }
        }
        return ProviderFailure(
            StatusTable.kind(status: status, asking: .credential),
            "Entra ID (\(url.host ?? url.absoluteString)) refused a token for the \(label): \(reason)\(outcome.attemptsNote)")
    }

    /// The authority is the only endpoint here, so a refused one is `AZURE_AUTHORITY_HOST`'s.
    private func describe(_ failure: RetryFailure, url: URL, hiding hidden: [String]) -> ProviderFailure {
        let lead = failure.underlying is EndpointPolicy.Violation ? "AZURE_AUTHORITY_HOST: " : ""
        return failure.providerFailure(
            reaching: "Entra ID at \(url.host ?? url.absoluteString) for the \(label)", lead: lead, hiding: hidden)
    }
}
