import Foundation
import InjectSecretsKit

/// An Entra ID access token. Prints redacted: a bearer token opens the vault as surely as a secret does.
package struct AzureAccessToken: Sendable, PrintsRedacted {
    package var token: String
    package var expiresOn: Date
    /// When the issuer asks for a refresh (`refresh_in`); nil means "5 minutes before expiry".
    package var refreshOn: Date?

    package init(token: String, expiresOn: Date, refreshOn: Date? = nil) {
        self.token = token
        self.expiresOn = expiresOn
        self.refreshOn = refreshOn
    }

    /// Whether the token should be replaced before it is used at `now`: the Azure SDKs refresh 5 minutes
    /// before expiry, or at `refresh_in` when the issuer gave one.
    func needsRefresh(at now: Date) -> Bool {
        if let refreshOn, now >= refreshOn { return true }
        return expiresOn.timeIntervalSince(now) < 300
    }

    package var redactedDescription: String { "AzureAccessToken(\(RunRedactor.replacement), expires \(expiresOn))" }
    package var visibleFields: KeyValuePairs<String, Any> { ["expiresOn": expiresOn] }
}

/// One way of getting Entra ID tokens (client secret, workload identity, managed identity).
protocol AzureTokenSource: Sendable {
    /// What the credential is, for messages ("client secret for client 1234 in tenant abcd"); never a secret.
    var label: String { get }
    /// Whether the credential belongs to a tenant (service principals do; managed identities do not).
    var tenantID: String? { get }
    /// Requests a new token for `scope` (`https://vault.azure.net/.default`) in `tenant`. Throws
    /// `ProviderFailure` with the issuer's reason, never a secret.
    func requestToken(scope: String, tenant: String?) async throws -> AzureAccessToken
}

/// The credential chosen for a run, in DefaultAzureCredential's order, with a token cache for the run.
/// Tokens are requested once per (tenant, scope), concurrent callers share the request, and a token is
/// refreshed 5 minutes before it expires.
actor AzureCredential {
    private let chosen: Result<any AzureTokenSource, ProviderFailure>
    private let environment: [String: String]
    private var tokens: [String: AzureAccessToken] = [:]
    private var inFlight: [String: Task<AzureAccessToken, Error>] = [:]

    /// What the credential is, for messages; never a secret.
    nonisolated let label: String

    init(environment: [String: String], client: HTTPClient) {
        self.init(chosen: AzureCredential.choose(environment: environment, client: client), environment: environment)
    }

    init(source: any AzureTokenSource, environment: [String: String] = [:]) {
        self.init(chosen: .success(source), environment: environment)
    }

    private init(chosen: Result<any AzureTokenSource, ProviderFailure>, environment: [String: String]) {
        // Only the multi-tenant switches are kept; the credentials themselves live in their source.
        self.environment = environment.filter {
            $0.key == "AZURE_ADDITIONALLY_ALLOWED_TENANTS" || $0.key == "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH"
        }
        self.chosen = chosen
        switch chosen {
        case .success(let source): label = source.label
        case .failure: label = "Azure credential"
        }
    }

    /// The access tokens obtained so far, for the run's redaction of messages.
    func tokensInUse() -> [String] { tokens.values.map(\.token) }

    /// A token for `scope`, asked for by a vault whose challenge named `challengeTenant`.
    /// `forceRefresh` drops a cached token (the vault refused it).
    func token(scope: String, challengeTenant: String?, forceRefresh: Bool = false) async throws -> AzureAccessToken {
        let source = try chosen.get()
        let tenant = try Self.resolveTenant(
            configured: source.tenantID, challenge: challengeTenant, environment: environment, credential: source.label)
        let key = "\(tenant ?? "-")|\(scope)"
        if forceRefresh {
            tokens[key] = nil
        } else if let cached = tokens[key], !cached.needsRefresh(at: Date()) {
            return cached
        }
        if let running = inFlight[key] {
            return try await running.value
        }
        let task = Task { try await source.requestToken(scope: scope, tenant: tenant) }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        let token = try await task.value
        tokens[key] = token
        return token
    }

    /// The tenant to ask for a token in, as the Azure SDKs decide it: the credential's own tenant unless the
    /// vault's challenge names another one that AZURE_ADDITIONALLY_ALLOWED_TENANTS allows (`*` allows any);
    /// otherwise a refusal that says how to allow it. Managed identities have no tenant and take none.
    /// An ADFS challenge, an ADFS credential and AZURE_IDENTITY_DISABLE_MULTITENANTAUTH keep the own tenant.
    static func resolveTenant(
        configured: String?, challenge: String?, environment: [String: String], credential: String
    ) throws -> String? {
        guard let configured else { return nil }
        guard let challenge, !challenge.isEmpty, challenge.lowercased() != configured.lowercased() else {
            return configured
        }
        if configured.lowercased() == "adfs" || challenge.lowercased().hasSuffix("adfs") { return configured }
        let disabled = environment["AZURE_IDENTITY_DISABLE_MULTITENANTAUTH"]?.lowercased()
        if disabled == "1" || disabled == "true" { return configured }
        let allowed = (environment["AZURE_ADDITIONALLY_ALLOWED_TENANTS"] ?? "")
            .split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if allowed.contains("*") || allowed.contains(challenge.lowercased()) { return challenge }
        throw ProviderFailure(
            .authentication,
            "the vault asks for a token from tenant '\(challenge)', but the credential (\(credential)) is configured for tenant '\(configured)' (AZURE_TENANT_ID); if that tenant is intended, add it to AZURE_ADDITIONALLY_ALLOWED_TENANTS (';'-separated, '*' allows any)")
    }

    /// DefaultAzureCredential's order, for the credentials that need no tool or browser: the environment's
    /// client secret, then workload identity federation, then managed identity (App Service, else IMDS).
    static func choose(environment env: [String: String], client: HTTPClient) -> Result<any AzureTokenSource, ProviderFailure> {
        func value(_ key: String) -> String? {
            guard let text = env[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
            return text
        }
        let authority: URL
        do {
            authority = try EntraAuthority.url(from: value("AZURE_AUTHORITY_HOST"))
        } catch let failure as ProviderFailure {
            return .failure(failure)
        } catch {
            return .failure(ProviderFailure(.configuration, "\(error)"))
        }
        let tenant = value("AZURE_TENANT_ID"), clientID = value("AZURE_CLIENT_ID")

        if let tenant, let clientID, let secret = value("AZURE_CLIENT_SECRET") {
            return .success(EntraClientCredential(
                authority: authority, tenant: tenant, clientID: clientID, proof: .secret(CredentialText(secret)), client: client))
        }
        if let tenant, let clientID, value("AZURE_CLIENT_CERTIFICATE_PATH") != nil {
            return .failure(ProviderFailure(
                .configuration,
                "AZURE_CLIENT_CERTIFICATE_PATH is set for client '\(clientID)' in tenant '\(tenant)', but certificate credentials are not supported; use AZURE_CLIENT_SECRET, workload identity (AZURE_FEDERATED_TOKEN_FILE) or a managed identity"))
        }
        if let tenant, let clientID, let file = value("AZURE_FEDERATED_TOKEN_FILE") {
            return .success(EntraClientCredential(
                authority: authority, tenant: tenant, clientID: clientID,
                proof: .federatedTokenFile(file), client: client))
        }
        // Partial service-principal settings fall through to managed identity, as in the SDKs, but are
        // named if nothing else works.
        var hints: [String] = []
        if value("AZURE_CLIENT_SECRET") != nil || value("AZURE_FEDERATED_TOKEN_FILE") != nil {
            let missing = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID"].filter { value($0) == nil }
            hints.append("AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE is set, but these are missing: \(missing.joined(separator: ", "))")
        }

        if value("IDENTITY_ENDPOINT") != nil {
            if value("IDENTITY_SERVER_THUMBPRINT") != nil {
                return .failure(ProviderFailure(.configuration, "the Service Fabric managed identity (IDENTITY_SERVER_THUMBPRINT) is not supported; use a client secret or workload identity"))
            }
            if value("IMDS_ENDPOINT") != nil {
                return .failure(ProviderFailure(.configuration, "the Azure Arc managed identity (IDENTITY_ENDPOINT with IMDS_ENDPOINT) is not supported; use a client secret or workload identity"))
            }
        }
        if let endpoint = value("IDENTITY_ENDPOINT"), let header = value("IDENTITY_HEADER") {
            return .success(ManagedIdentityCredential(
                source: .appService(endpoint: endpoint, header: CredentialText(header)), clientID: clientID, client: client,
                hints: hints))
        }
        if value("MSI_ENDPOINT") != nil {
            return .failure(ProviderFailure(.configuration, "the legacy MSI_ENDPOINT managed identity (Cloud Shell, old App Service) is not supported; use IDENTITY_ENDPOINT, a client secret or workload identity"))
        }
        return .success(ManagedIdentityCredential(
            source: .imds(authority: value("AZURE_POD_IDENTITY_AUTHORITY_HOST")), clientID: clientID, client: client,
            hints: hints))
    }
}

/// The Entra ID authority host: AZURE_AUTHORITY_HOST (sovereign clouds, AKS workload identity), else the
/// public cloud's. A host without a scheme gets https, as in the SDKs; plain HTTP only to loopback.
enum EntraAuthority {
    static let publicCloud = "https://login.microsoftonline.com"

    static func url(from setting: String?) throws -> URL {
        var text = setting ?? publicCloud
        if !text.contains("://") { text = "https://" + text }
        while text.hasSuffix("/") { text.removeLast() }
        do {
            return try EndpointPolicy.checked(text)
        } catch let violation as EndpointPolicy.Violation {
            throw ProviderFailure(.configuration, "AZURE_AUTHORITY_HOST: \(violation.message)")
        }
    }
}

/// Text from an issuer that is safe for a message: `RelayedText.line` (Entra appends trace and
/// correlation ids on later lines) with every credential of the request removed first.
func issuerText(_ text: String, hiding secrets: [String]) -> String {
    let redactor = RunRedactor()
    redactor.remember(secrets)
    return RelayedText.line(redactor.scrub(text))
}

/// Parses `expires_in` / `expires_on` / `refresh_in`, which Entra sends as numbers and managed identity
/// endpoints as strings (App Service has also sent dates). Lenient, as the SDKs are.
func tokenLifetime(_ json: [String: Any], now: Date = Date()) -> (expiresOn: Date, refreshOn: Date?)? {
    func seconds(_ key: String) -> Double? {
        if let text = json[key] as? String { return Double(text.trimmingCharacters(in: .whitespaces)) }
        return jsonNumber(json[key])
    }
    var expires: Date?
    if let on = seconds("expires_on") {
        expires = Date(timeIntervalSince1970: on)
    } else if let text = json["expires_on"] as? String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "M/d/yyyy h:mm:ss a xxxxx"
        expires = formatter.date(from: text)
    }
    if expires == nil, let inSeconds = seconds("expires_in") {
        expires = now.addingTimeInterval(inSeconds)
    }
    guard let expires else { return nil }
    let refresh = seconds("refresh_in").map { now.addingTimeInterval($0) }
    return (expires, refresh)
}

/// Token endpoints' answers worth another attempt: throttled, 5xx, and (`startingUp`, IMDS) 404 and 410
/// while the endpoint is starting or upgrading (as azure-identity's managed identity credentials retry it: azure/identity/_credentials in azure-sdk-for-python).
func identityRetryable(startingUp: Bool, transportFailures: Bool = true) -> RetryPolicy.Retryable {
    RetryPolicy.Retryable(transportFailures: transportFailures) { response in
        response.status == 429 || (500...599).contains(response.status) || (startingUp && [404, 410].contains(response.status))
    }
}

func jsonObject(_ data: Data) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

/// A JSON number, whichever type JSONSerialization produced for it on this platform.
func jsonNumber(_ value: Any?) -> Double? {
    switch value {
    case let value as Int: return Double(value)
    case let value as Double: return value
    case let value as Int64: return Double(value)
    case let value as NSNumber where !(value is Bool): return value.doubleValue
    default: return nil
    }
}

/// A JSON boolean, whichever type JSONSerialization produced for it on this platform.
func jsonBool(_ value: Any?) -> Bool? {
    switch value {
    case let value as Bool: return value
    case let value as NSNumber: return value.boolValue
    default: return nil
    }
}
