import Foundation
import InjectSecretsKit

/// `type: azure-key-vault`: secrets of one Azure Key Vault, read with the Secrets REST API.
///
/// ```yaml
/// providers:
///   azure: { type: azure-key-vault, vault-url: https://example.vault.azure.net }
/// ```
///
/// Settings: `vault-url` (required; https, or http to loopback), `api-version` (default 2025-07-01).
/// Credentials come from the environment in DefaultAzureCredential's order: AZURE_TENANT_ID +
/// AZURE_CLIENT_ID + AZURE_CLIENT_SECRET; AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_FEDERATED_TOKEN_FILE
/// (workload identity: AKS, GitHub Actions); the managed identity (IDENTITY_ENDPOINT + IDENTITY_HEADER,
/// else IMDS, whose host AZURE_POD_IDENTITY_AUTHORITY_HOST overrides). AZURE_AUTHORITY_HOST picks the
/// Entra ID host. Tenant and token audience come from the vault's bearer challenge.
///
/// Versions: `current` is the newest enabled version; a version id is the 32-hex last segment of the
/// secret's `id`; Key Vault has no staging labels. The locator is the secret's id without its version,
/// `{vault-url}/secrets/{name}`.
package struct AzureKeyVaultKind: SecretProviderKind {
    package static let typeName = "azure-key-vault"
    package static let settingKeys = ["vault-url", "api-version"]

    /// The REST api-version sent unless `api-version` says otherwise. 2025-07-01 is the newest GA version
    /// that is documented in Microsoft's REST reference and that the SDKs have sent for a year (it is also
    /// known to the newest Python SDK, whose own default is 2026-04-01); the two calls used here (get
    /// secret, list versions) are the same in every version since 7.0, so the older, widely deployed one
    /// is the safer default for sovereign clouds and private endpoints.
    package static let defaultAPIVersion = "2025-07-01"

    /// A declaration's settings: the vault's base URL (no trailing slash), the api-version, the CAs.
    package struct Settings: Sendable {
        package var name: String
        package var vaultURL: URL
        package var apiVersion: String
        package var trust: TLSTrust
        package var environment: [String: String]
    }

    package static func settings(_ declaration: ProviderDeclaration) throws -> Settings {
        let settings = try ProviderSettings(declaration, allowed: settingKeys)
        guard let vaultURL = try settings.endpointURL("vault-url") else {
            _ = try settings.requiredString("vault-url")
            throw InjectSecretsError.badInput("provider '\(declaration.name)' needs 'vault-url'", at: declaration.node.location)
        }
        let path = vaultURL.path
        guard path.isEmpty || path == "/", vaultURL.query == nil, vaultURL.fragment == nil, vaultURL.user == nil else {
            throw InjectSecretsError.badInput(
                "provider '\(declaration.name)': 'vault-url' must be the vault's base URL, such as https://NAME.vault.azure.net, without a path, query or user",
                at: settings.location(of: "vault-url"))
        }
        var base = vaultURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        let apiVersion = try settings.string("api-version") ?? defaultAPIVersion
        guard apiVersion.range(of: #"^(\d{4}-\d{2}-\d{2}|\d+\.\d+)(-preview(\.\d+)?)?$"#, options: .regularExpression) != nil else {
            throw InjectSecretsError.badInput(
                "provider '\(declaration.name)': 'api-version' must be a Key Vault REST api-version such as \(defaultAPIVersion) or 7.6, found '\(apiVersion)'",
                at: settings.location(of: "api-version"))
        }
        // As the Azure CLI (Python requests): REQUESTS_CA_BUNDLE replaces the system's CAs.
        let trust = try TLSTrust.fromEnvironment(
            declaration.environment, fileVariables: ["REQUESTS_CA_BUNDLE"], at: declaration.node.location)
        return Settings(
            name: declaration.name, vaultURL: URL(string: base)!, apiVersion: apiVersion, trust: trust,
            environment: declaration.environment)
    }

    package static func make(_ settings: Settings) -> any SecretProvider {
        AzureKeyVaultProvider(
            name: settings.name, vaultURL: settings.vaultURL, apiVersion: settings.apiVersion,
            environment: settings.environment,
            http: HTTPClient.shared.trusting(settings.trust).proxying(from: settings.environment))
    }

    /// What is wrong with a reference before any request: a name Key Vault cannot hold (1 to 127 of
    /// `0-9 a-z A-Z -`), a version that is not 32 hex digits, a staging label. Empty when fine. The
    /// provider answers such references with a `.configuration` failure; `validate` can call this with
    /// the declaration's place in the manifest.
    package static func problems(with reference: SecretReference) -> [String] {
        var problems: [String] = []
        let id = reference.id
        if id.isEmpty || id.count > 127 || id.range(of: "^[0-9A-Za-z-]+$", options: .regularExpression) == nil {
            var why = "Key Vault secret names are 1 to 127 letters, digits and '-'"
            if id.contains("/") || id.contains("_") || id.contains(".") {
                let suggestion = id.map { "/_.".contains($0) ? "-" : String($0) }.joined()
                why += " (no '/', '_' or '.'; perhaps '\(suggestion)')"
            }
            problems.append("secret '\(reference.name)': id '\(id)' cannot be an Azure Key Vault secret name: \(why)")
        }
        switch reference.policy {
        case .current:
            break
        case .version(let version):
            if version.range(of: "^[0-9A-Fa-f]{32}$", options: .regularExpression) == nil {
                problems.append("secret '\(reference.name)': version '\(version)' is not an Azure Key Vault version id (32 hex digits, the last segment of the secret's id)")
            }
        case .stage(let label):
            problems.append("secret '\(reference.name)': 'stage:\(label)' is not available: Azure Key Vault has no staging labels; use 'current' or a 32-hex version id")
        }
        return problems
    }
}

/// One vault of the manifest. Prints and reflects as its name and vault only: its credential stays out
/// of any dump.
// @unchecked: every stored property is immutable and Sendable but `listingPacer`, a var only so that a
// test can swap the pacer (itself an actor) before the provider's first use; nothing changes it after.
final class AzureKeyVaultProvider: SecretProvider, CustomStringConvertible, CustomReflectable, @unchecked Sendable {
    let name: String
    let vault: KeyVaultClient
    /// Requests in flight at once for `fetch`.
    let concurrency = 8
    /// Key Vault allows 4,000 secret transactions per 10 s per vault and region and answers more with
    /// 429 (learn.microsoft.com/azure/key-vault/general/service-limits). A bucket of 400 refilled 360
    /// a second starts at most 400 + 10 x 360 = 4,000 in any 10 s, so `inspect`'s listings keep to it
    /// however fast the vault answers.
    static let listingsPerSecond = 360.0
    static let listingBurst = 400.0
    var listingPacer = CallPacer(
        rate: AzureKeyVaultProvider.listingsPerSecond, burst: AzureKeyVaultProvider.listingBurst)
    /// Listings in flight: as many as the HTTP client keeps connections to one host, so the pacer
    /// rather than round trips bounds a large drift (8 in flight at 50 ms a call were 160 a second).
    let listingConcurrency = 32
    /// Versions per page when listing (Key Vault's maximum is 25).
    let pageSize = 25

    init(name: String, vaultURL: URL, apiVersion: String, environment: [String: String], http: HTTPClient,
         retry: RetryPolicy = RetryPolicy(maxAttempts: 5, baseDelay: 0.2, maxDelay: 20, timeLimit: 120))
    {
        self.name = name
        self.vault = KeyVaultClient(
            vaultURL: vaultURL, apiVersion: apiVersion, credential: AzureCredential(environment: environment, client: http),
            challenges: ChallengeCache(), http: http, retry: retry)
    }

    func credentialsInUse() async -> [String] { await vault.credential.tokensInUse() }

    var description: String { "AzureKeyVaultProvider(\(name), \(vault.vaultName))" }
    var customMirror: Mirror { Mirror(self, children: ["name": name, "vault": vault.vaultName]) }

    func locator(_ secretName: String) -> String {
        "\(vault.vaultName)/secrets/\(secretName)"
    }

    // MARK: fetch

    /// Each reference is read once (the engine sends distinct ones); failures carry the secret's URL.
    func fetch(_ references: [SecretReference]) async -> [SecretReference: Result<FetchedSecret, ProviderFailure>] {
        let results = await boundedConcurrentMap(references, limit: concurrency) { reference in
            await self.fetchOne(reference).mapError { $0.during(.read, of: self.locator(reference.id)) }
        }
        return Dictionary(uniqueKeysWithValues: zip(references, results))
    }

    private func fetchOne(_ reference: SecretReference) async -> Result<FetchedSecret, ProviderFailure> {
        let problems = AzureKeyVaultKind.problems(with: reference)
        if !problems.isEmpty {
            return .failure(ProviderFailure(.configuration, problems.joined(separator: "; ")))
        }
        switch reference.policy {
        case .version(let version):
            return await read(reference, version: version.lowercased())
        case .stage:
            return .failure(ProviderFailure(.configuration, "Azure Key Vault has no staging labels"))
        case .current:
            // The latest version, unless it is disabled: then the newest enabled one, found in the versions.
            let (latest, disabled) = await readNoting(reference, version: nil)
            guard disabled else { return latest }
            switch await listVersions(reference.id) {
            case .failure(let failure):
                return .failure(describe(failure))
            case .success(let listing):
                guard let newest = listing.newestEnabled else {
                    return .failure(ProviderFailure(.versionNotFound, "no enabled version (the latest is disabled)"))
                }
                return await read(reference, version: newest.version)
            }
        }
    }

    private func read(_ reference: SecretReference, version: String?) async -> Result<FetchedSecret, ProviderFailure> {
        await readNoting(reference, version: version).result
    }

    /// GET one version (nil: the latest) and its value; `disabled` tells that the version exists but is
    /// disabled (Key Vault's 403 SecretDisabled).
    private func readNoting(_ reference: SecretReference, version: String?) async -> (result: Result<FetchedSecret, ProviderFailure>, disabled: Bool) {
        let which = version.map { "version \($0): " } ?? ""
        switch await vault.get(vault.secretURL(reference.id, version: version)) {
        case .failure(let failure):
            return (.failure(describe(failure, lead: which, versionAsked: version != nil)), false)
        case .success(let response) where response.status == 200:
            guard let json = jsonObject(response.body), let value = json["value"] as? String,
                let id = json["id"] as? String, let found = Self.version(ofID: id)
            else {
                return (.failure(ProviderFailure(.invalidResponse, "\(which)Azure Key Vault answered without a value and an id with a version")), false)
            }
            if let version, found.lowercased() != version.lowercased() {
                return (.failure(ProviderFailure(.invalidResponse, "\(which)Azure Key Vault answered with version \(found)")), false)
            }
            if let attributes = json["attributes"] as? [String: Any], jsonBool(attributes["enabled"]) == false {
                return (.failure(ProviderFailure(.versionNotFound, "version \(found) is disabled")), true)
            }
            return (.success(FetchedSecret(version: found, locator: locator(reference.id), value: SecretValue(value))), false)
        case .success(let response):
            let disabled = response.status == 403 && KeyVaultError(response).innerCode == "SecretDisabled"
            return (.failure(describe(.answer(response, attemptsNote: ""), lead: which, versionAsked: version != nil)), disabled)
        }
    }

    /// A failure with Key Vault's own code and message relayed; `lead` names the version asked for.
    private func describe(_ failure: KeyVaultClient.Failure, lead: String = "", versionAsked: Bool) -> ProviderFailure {
        switch failure {
        case .provider(var failure):
            failure.detail = lead + failure.detail
            return failure
        case .answer(let response, let note):
            let error = KeyVaultError(response)
            let said = error.summary(status: response.status)
            let kind = StatusTable.kind(status: response.status, codes: [error.innerCode, error.code])
            let text: String
            switch kind {
            case .authentication: text = "the vault refused the token of the \(credentialLabel)"
            case .versionNotFound: text = "the version is disabled"
            case .accessDenied:
                text = "access denied to the \(credentialLabel) (it needs the 'Key Vault Secrets User' role or a 'get'/'list' access policy)"
            case .notFound: text = "not found (deleted or never created)"
            case .throttled: text = "throttled"
            case .unreachable: text = "Key Vault answered \(response.status)"
            default: text = "unexpected answer \(response.status)"
            }
            let found = kind == .notFound && versionAsked ? ProviderFailure.Kind.versionNotFound : kind
            return ProviderFailure(found, lead + text + note, relayed: said)
        }
    }

    private var credentialLabel: String { vault.credential.label }

    /// The version of a secret id `https://{vault}/secrets/{name}/{version}`: its last path segment.
    static func version(ofID id: String) -> String? {
        guard let url = URL(string: id) else { return nil }
        let segments = url.path.split(separator: "/")
        guard segments.count == 3, segments[0] == "secrets", !segments[2].isEmpty else { return nil }
        return String(segments[2])
    }

    // MARK: inspect

    func inspect(_ queries: [VersionQuery]) async -> [Result<VersionStatus, ProviderFailure>] {
        // One listing per secret id, whatever the policies and locked versions asked about.
        var byID: [String: [VersionQuery]] = [:]
        var answer: [VersionQuery: Result<VersionStatus, ProviderFailure>] = [:]
        for query in queries {
            let problems = AzureKeyVaultKind.problems(with: query.reference)
            if !problems.isEmpty {
                answer[query] = .failure(ProviderFailure(.configuration, problems.joined(separator: "; ")))
            } else {
                byID[query.reference.id, default: []].append(query)
            }
        }
        let ids = byID.keys.sorted()
        let listings = await boundedConcurrentMap(ids, limit: listingConcurrency, pacer: listingPacer) { id in
            await self.listVersions(id)
        }
        for (id, listing) in zip(ids, listings) {
            for query in byID[id]! {
                answer[query] = status(of: query, in: listing)
            }
        }
        return queries.map { query in
            answer[query]!.mapError { $0.during(.inspect, of: self.locator(query.reference.id)) }
        }
    }

    private func status(of query: VersionQuery, in result: Result<VersionListing, ListingFailure>) -> Result<VersionStatus, ProviderFailure> {
        let reference = query.reference
        let listing: VersionListing
        switch result {
        case .success(let found):
            listing = found
        case .failure(let failure):
            let described = describe(failure)
            // The whole secret is gone (Key Vault deletes secrets, not single versions): the locked
            // version went with it.
            guard described.kind == .notFound, query.lockedVersion != nil else { return .failure(described) }
            return .success(VersionStatus(
                selected: nil, locator: locator(reference.id), locked: .gone(reason: "deleted"),
                notes: ["\(reference) no longer exists in \(vault.vaultName) (deleted, or never created)"]))
        }
        var notes: [String] = []
        let selected: String?
        switch reference.policy {
        case .current:
            selected = listing.newestEnabled?.version
            if selected == nil { notes.append("\(reference) has no enabled version") }
        case .version(let pinned):
            selected = listing.entry(pinned)?.version
        case .stage:
            return .failure(ProviderFailure(.configuration, "Azure Key Vault has no staging labels"))
        }
        var locked: VersionStatus.LockedState?
        if let lockedVersion = query.lockedVersion {
            if let entry = listing.entry(lockedVersion) {
                locked = entry.enabled ? .present : .gone(reason: "disabled")
            } else {
                locked = .gone(reason: "deleted")
            }
        }
        // `created` is the service's own date; a listing without one says .distantPast, which is no date.
        let created = selected.flatMap(listing.entry)?.created
        let dated = (query.lockedVersion ?? selected).flatMap(listing.entry)
        return .success(VersionStatus(
            selected: selected, locator: locator(reference.id), locked: locked, notes: notes,
            created: created == .distantPast ? nil : created, expires: dated?.enabled == true ? dated?.expires : nil))
    }

    /// Why a listing failed.
    enum ListingFailure: Error {
        case vault(KeyVaultClient.Failure)
        case invalid(String)
    }

    private func describe(_ failure: ListingFailure) -> ProviderFailure {
        switch failure {
        case .vault(let failure):
            return describe(failure, lead: "listing the versions: ", versionAsked: false)
        case .invalid(let reason):
            return ProviderFailure(.invalidResponse, "Azure Key Vault answered the listing of versions \(reason)")
        }
    }

    /// Every version of a secret, from `GET /secrets/{name}/versions`, following `nextLink` to the end.
    /// Reads no value: the listing carries ids and attributes only.
    private func listVersions(_ secretName: String) async -> Result<VersionListing, ListingFailure> {
        let pages = PageSequence { [vault, pageSize, listingPacer] link, _ -> (page: (entries: [VersionListing.Entry], next: String?), next: String?) in
            var url = vault.versionsURL(secretName, pageSize: pageSize)
            if let link {
                // The first page was admitted when the listing was started (`inspect`).
                await listingPacer.admit()
                guard let followed = vault.followable(link) else {
                    throw ListingFailure.invalid("with a nextLink that does not point at the vault (not followed)")
                }
                url = followed
            }
            let response: HTTPResponse
            switch await vault.get(url) {
            case .failure(let failure): throw ListingFailure.vault(failure)
            case .success(let answer): response = answer
            }
            guard response.status == 200 else { throw ListingFailure.vault(.answer(response, attemptsNote: "")) }
            guard let json = jsonObject(response.body), let items = json["value"] as? [[String: Any]] else {
                throw ListingFailure.invalid("without a 'value' list")
            }
            let entries = try items.map { item -> VersionListing.Entry in
                guard let id = item["id"] as? String, let version = Self.version(ofID: id) else {
                    throw ListingFailure.invalid("with a version that has no versioned id")
                }
                let attributes = item["attributes"] as? [String: Any] ?? [:]
                func date(_ key: String) -> Date? {
                    jsonNumber(attributes[key]).map { Date(timeIntervalSince1970: $0) }
                }
                return .init(
                    version: version, enabled: jsonBool(attributes["enabled"]) ?? true,
                    created: date("created") ?? .distantPast, updated: date("updated") ?? .distantPast,
                    expires: date("exp"))
            }
            let next = json["nextLink"] as? String
            return ((entries, next), next)
        }
        var entries: [VersionListing.Entry] = []
        var count = 0
        var cut = false
        do {
            for try await page in pages {
                entries += page.entries
                count += 1
                cut = !(page.next ?? "").isEmpty
            }
        } catch let failure as ListingFailure {
            return .failure(failure)
        } catch {
            return .failure(.invalid("that could not be read"))
        }
        if cut {
            return .failure(.invalid(
                count >= Pagination.maxPages ? "with more than \(Pagination.maxPages) pages" : "with a nextLink it had already given"))
        }
        return .success(VersionListing(entries: entries))
    }
}

/// The versions of one secret, as listed (no values).
struct VersionListing: Sendable {
    struct Entry: Sendable {
        var version: String
        var enabled: Bool
        var created: Date
        var updated: Date
        var expires: Date?
    }

    var entries: [Entry]

    /// The newest enabled version by creation time (then update time, then id, so ties are stable).
    var newestEnabled: Entry? {
        entries.filter(\.enabled).max { a, b in
            (a.created, a.updated, a.version) < (b.created, b.updated, b.version)
        }
    }

    func entry(_ version: String) -> Entry? {
        entries.first { $0.version.lowercased() == version.lowercased() }
    }
}
