import Foundation
import InjectSecretsKit

/// The managed identity of the Azure resource this runs on: App Service / Functions / Container Apps
/// (IDENTITY_ENDPOINT + IDENTITY_HEADER), else the VM's Instance Metadata Service. A user-assigned
/// identity is chosen with AZURE_CLIENT_ID, as DefaultAzureCredential does.
struct ManagedIdentityCredential: AzureTokenSource {
    enum Source: Sendable {
        case appService(endpoint: String, header: CredentialText)
        /// `authority` is AZURE_POD_IDENTITY_AUTHORITY_HOST when set (the Azure SDKs' own override of the
        /// IMDS host, used by AAD Pod Identity and by local emulators); nil means the real IMDS.
        case imds(authority: String?)
    }

    var source: Source
    var clientID: String?
    var client: HTTPClient
    /// Why the service-principal credentials were not used, told when no managed identity answers either.
    var hints: [String] = []
    var retry = RetryPolicy(maxAttempts: 4, baseDelay: 0.5, maxDelay: 8, timeLimit: 45)

    var tenantID: String? { nil }

    var label: String {
        let which = clientID.map { "user-assigned managed identity '\($0)'" } ?? "managed identity"
        switch source {
        case .appService: return "\(which) (App Service IDENTITY_ENDPOINT)"
        case .imds(let authority): return "\(which) (IMDS\(authority.map { " at \($0)" } ?? ""))"
        }
    }

    func requestToken(scope: String, tenant: String?) async throws -> AzureAccessToken {
        // Managed identity endpoints take a resource, not a scope.
        var resource = scope
        if resource.hasSuffix("/.default") { resource.removeLast("/.default".count) }
        let request: HTTPRequest
        let send: @Sendable (HTTPRequest) async throws -> HTTPResponse
        let hidden: [String]
        switch source {
        case .appService(let endpoint, let header):
            guard var components = URLComponents(string: endpoint), components.host != nil else {
                throw ProviderFailure(.configuration, "IDENTITY_ENDPOINT '\(endpoint)' is not a URL")
            }
            var query = components.queryItems ?? []
            query.append(URLQueryItem(name: "api-version", value: "2019-08-01"))
            query.append(URLQueryItem(name: "resource", value: resource))
            if let clientID { query.append(URLQueryItem(name: "client_id", value: clientID)) }
            components.queryItems = query
            guard let url = components.url else {
                throw ProviderFailure(.configuration, "IDENTITY_ENDPOINT '\(endpoint)' is not a URL")
            }
            do {
                try EndpointPolicy.check(url)
            } catch let violation as EndpointPolicy.Violation {
                throw ProviderFailure(.configuration, "IDENTITY_ENDPOINT: \(violation.message)")
            }
            request = HTTPRequest(method: "GET", url: url, headers: [("X-IDENTITY-HEADER", header.text), ("Accept", "application/json")])
            send = { [client] in try await client.send($0) }
            hidden = [header.text]
        case .imds(let authority):
            let base = authority.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? IMDSEndpoint.authority
            guard var components = URLComponents(string: base + IMDSEndpoint.tokenPath), components.host != nil else {
                throw ProviderFailure(.configuration, "AZURE_POD_IDENTITY_AUTHORITY_HOST '\(base)' is not a URL")
            }
            var query = [URLQueryItem(name: "api-version", value: "2018-02-01"), URLQueryItem(name: "resource", value: resource)]
            if let clientID { query.append(URLQueryItem(name: "client_id", value: clientID)) }
            components.queryItems = query
            guard let url = components.url else {
                throw ProviderFailure(.configuration, "AZURE_POD_IDENTITY_AUTHORITY_HOST '\(base)' is not a URL")
            }
            request = HTTPRequest(method: "GET", url: url, headers: [("Metadata", "true"), ("Accept", "application/json")])
            if IMDSEndpoint.isTheEndpoint(url) {
                send = { [client] in try await IMDSEndpoint.send($0, client: client) }
            } else {
                // An overridden host gets no exception: HTTPS, or plain HTTP to loopback only.
                do {
                    try EndpointPolicy.check(url)
                } catch let violation as EndpointPolicy.Violation {
                    throw ProviderFailure(.configuration, "AZURE_POD_IDENTITY_AUTHORITY_HOST: \(violation.message)")
                }
                send = { [client] in try await client.send($0) }
            }
            hidden = []
        }

        let response: HTTPResponse
        do {
            // No answer at all means there is no managed identity endpoint here: nothing to wait for.
            let outcome = try await retry.send(
                { _ in try await send(request) }, retrying: identityRetryable(startingUp: true, transportFailures: false))
            response = outcome.response
            guard response.status == 200 else { throw refusal(outcome, hiding: hidden) }
        } catch let failure as RetryFailure {
            throw describe(failure, hiding: hidden)
        }
        guard let json = jsonObject(response.body), let token = json["access_token"] as? String, !token.isEmpty,
            let lifetime = tokenLifetime(json)
        else {
            throw ProviderFailure(.invalidResponse, "the \(label) answered without an access token and expiry")
        }
        return AzureAccessToken(token: token, expiresOn: lifetime.expiresOn, refreshOn: lifetime.refreshOn)
    }

    private func refusal(_ outcome: RetryPolicy.Outcome, hiding hidden: [String]) -> ProviderFailure {
        let status = outcome.response.status
        var reason = "HTTP \(status)"
        if let json = jsonObject(outcome.response.body) {
            let code = (json["error"] as? String) ?? (json["ErrorCode"] as? String)
            let text = (json["error_description"] as? String) ?? (json["message"] as? String) ?? (json["Message"] as? String)
            let parts = [code, text].compactMap { $0 }.map { issuerText($0, hiding: hidden) }
            if !parts.isEmpty { reason += " " + parts.joined(separator: ": ") }
        }
        if case .imds = source, status == 400 {
            reason += " (IMDS answers 400 when no identity, or not this AZURE_CLIENT_ID, is assigned to the VM)"
        }
        return ProviderFailure(
            StatusTable.kind(status: status, asking: .credential), "the \(label) refused a token: \(reason)\(outcome.attemptsNote)")
    }

    private func describe(_ failure: RetryFailure, hiding hidden: [String]) -> ProviderFailure {
        switch failure.underlying {
        case let transport as HTTPTransportError:
            var message = "no Azure credential found: AZURE_TENANT_ID + AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE are not set, and the \(label) did not answer (\(transport.underlying))"
            if !hints.isEmpty { message += "; note: " + hints.joined(separator: "; ") }
            return ProviderFailure(.authentication, message)
        case let failure as ProviderFailure:
            return failure
        default:
            return ProviderFailure(.authentication, "the \(label) failed: \(failure.underlying)")
        }
    }
}

/// The Azure Instance Metadata Service token endpoint, `http://169.254.169.254/metadata/identity/oauth2/token`.
///
/// The one deliberate exception to the rule that plain HTTP goes only to loopback: Azure serves IMDS
/// over plain HTTP on this link-local address by design, reachable only from inside the VM, and offers
/// no HTTPS. The exception is exactly this URL (scheme, host, no port, path); `EndpointPolicy` is unchanged and
/// everything else, including an overridden IMDS host, still goes through `HTTPClient.send` and its checks.
/// Requests here take the one HTTP path too, which follows no redirect and never proxies a link-local
/// address, so the token never leaves the host.
enum IMDSEndpoint {
    static let authority = "http://169.254.169.254"
    static let tokenPath = "/metadata/identity/oauth2/token"

    static func isTheEndpoint(_ url: URL) -> Bool {
        url.scheme?.lowercased() == "http" && url.host == "169.254.169.254" && url.port == nil
            && url.path == tokenPath && url.user == nil && url.password == nil
    }

    static func send(_ request: HTTPRequest, client: HTTPClient) async throws -> HTTPResponse {
        guard isTheEndpoint(request.url), request.method == "GET" else {
            // Unreachable by construction; refuse rather than send anything else in clear.
            throw EndpointPolicy.Violation(message: "plain HTTP is allowed off loopback only for GET \(authority)\(tokenPath)")
        }
        // IMDS answers within a second or two where it exists; elsewhere there is nothing to wait for.
        return try await client.transmit(request, timeout: 5)
    }
}
