import Foundation
import InjectSecretsKit

/// `type: vault`: HashiCorp Vault or OpenBao, KV version 2.
///
/// ```yaml
/// vault:
///   type: vault
///   address: https://vault.example.com   # else VAULT_ADDR
///   mount: secret                        # the KV v2 mount, default `secret`
///   namespace: team-a                    # else VAULT_NAMESPACE; sent as X-Vault-Namespace
///   ca-file: certs/internal-ca.pem       # else VAULT_CACERT, else VAULT_CAPATH (a folder); relative to the manifest
///   auth: { method: approle, role-id-env: VAULT_ROLE_ID, secret-id-file: /run/secrets/vault-secret-id }
/// ```
///
/// `auth` methods: `token` (the default: `token-env`, default VAULT_TOKEN, else `token-file`, default
/// ~/.vault-token), `approle` (`role-id-env`|`role-id-file`, `secret-id-env`|`secret-id-file`, `mount`),
/// `jwt` (`role`, `jwt-file`|`jwt-env`, else the GitHub Actions OIDC token with an optional `audience`,
/// `mount`), `kubernetes` (`role`, `token-file`, `mount`). Credentials are never written inline.
package enum VaultKind: SecretProviderKind {
    package static let typeName = "vault"
    package static let settingKeys = ["address", "mount", "namespace", "auth", "ca-file"]

    /// A declaration's settings, with the environment's fallbacks applied: what is sent is what is
    /// printed (a `namespace: team-a/` is `team-a` in the header and in the policy alike).
    package struct Settings: Sendable {
        package var name: String
        package var address: URL
        /// The KV v2 mount, without slashes at either end.
        package var mount: String
        /// The namespace, without slashes at either end; nil when none.
        package var namespace: String?
        package var auth: VaultAuthMethod
        package var trust: TLSTrust
        package var environment: [String: String]
    }

    package static func settings(_ declaration: ProviderDeclaration) throws -> Settings {
        let settings = try ProviderSettings(declaration, allowed: settingKeys)
        let environment = declaration.environment
        let fallbackAddress = environment["VAULT_ADDR"].flatMap { $0.isEmpty ? nil : $0 }
        guard let address = try settings.endpointURL("address", fallback: fallbackAddress) else {
            throw InjectSecretsError.badInput(
                "provider '\(declaration.name)' of type 'vault' needs 'address' (or VAULT_ADDR in the environment)",
                at: declaration.node.location)
        }
        let slashes = CharacterSet(charactersIn: "/")
        let mount = (try settings.string("mount") ?? "secret").trimmingCharacters(in: slashes)
        guard !mount.isEmpty else {
            throw InjectSecretsError.badInput(
                "'mount' of provider '\(declaration.name)' is empty", at: settings.location(of: "mount"))
        }
        let namespace = (try settings.string("namespace") ?? environment["VAULT_NAMESPACE"] ?? "").trimmingCharacters(in: slashes)
        let auth = try VaultAuthSettings.parse(settings.node("auth"), declaration: declaration)
        // As the Vault CLI: VAULT_CACERT (a PEM bundle) before VAULT_CAPATH (a folder of hashed certificates).
        let trust = try settings.caBundle("ca-file")
            ?? TLSTrust.fromEnvironment(
                environment, fileVariables: ["VAULT_CACERT"], folderVariables: ["VAULT_CAPATH"], at: declaration.node.location)
        return Settings(
            name: declaration.name, address: address, mount: mount, namespace: namespace.isEmpty ? nil : namespace,
            auth: auth, trust: trust, environment: environment)
    }

    package static func make(_ settings: Settings) -> any SecretProvider {
        makeVault(settings)
    }

    package static func problems(with reference: SecretReference) -> [String] {
        switch reference.policy {
        case .current: return []
        case .stage(let label):
            return ["secret '\(reference.name)': version 'stage:\(label)' cannot be used: Vault KV has no staging labels; use 'current' or a version number"]
        case .version(let id):
            return UInt(id).map { $0 > 0 } == true ? [] : ["secret '\(reference.name)': version '\(id)' cannot be used: a Vault KV version is a number from 1"]
        }
    }

    /// `make`, typed: for callers that need `finish()`.
    package static func makeVault(
        _ settings: Settings, client: HTTPClient = .shared, retry: RetryPolicy = .standard
    ) -> VaultProvider {
        VaultProvider(
            name: settings.name, address: settings.address, mount: settings.mount, namespace: settings.namespace,
            auth: settings.auth, environment: settings.environment,
            client: client.trusting(settings.trust).proxying(from: settings.environment), retry: retry)
    }
}

/// Reads KV v2 entries: `fetch` through `/v1/{mount}/data/{path}`, `inspect` through
/// `/v1/{mount}/metadata/{path}` only. One login per run; call `finish()` when the run ends.
package struct VaultProvider: SecretProvider {
    package let name: String
    package let mount: String
    let connection: VaultConnection
    let session: VaultSession
    /// How many reads run at once.
    package var concurrency: Int = 8
    /// How many metadata reads `inspect` runs at once: as many as the HTTP client keeps connections to
    /// one host. Vault sets no request quota unless an operator adds a rate-limit quota (whose 429 is
    /// retried), so only round trips bound a drift: 2,000 paths at 20 ms were 5 s at 8 in flight.
    package var metadataConcurrency: Int = 32

    package init(
        name: String, address: URL, mount: String = "secret", namespace: String? = nil,
        auth: VaultAuthMethod = .token(variable: "VAULT_TOKEN", file: nil), environment: [String: String],
        client: HTTPClient = .shared, retry: RetryPolicy = .standard
    ) {
        self.name = name
        self.mount = mount
        let connection = VaultConnection(address: address, namespace: namespace, client: client, retry: retry)
        self.connection = connection
        self.session = VaultSession(connection: connection, method: auth, environment: environment)
    }

    /// Ends the run (`SecretProvider.finish`): revokes the token if this run created it by a login
    /// (AppRole, JWT, Kubernetes); a supplied token (VAULT_TOKEN, ~/.vault-token) is kept. Safe to call
    /// more than once and when nothing was read.
    package func finish() async {
        _ = await session.finish()
    }

    package func credentialsInUse() async -> [String] {
        await session.tokenInUse().map { [$0.text] } ?? []
    }

    /// `finish()`, returning a warning when the revocation failed (the token then lives until its TTL).
    package func finishReportingRevocation() async -> String? {
        await session.finish()
    }

    // MARK: - fetch

    /// Each reference is read once (the engine sends distinct ones); failures carry the KV path.
    package func fetch(_ references: [SecretReference]) async -> [SecretReference: Result<FetchedSecret, ProviderFailure>] {
        let outcomes = await boundedConcurrentMap(references, limit: max(1, concurrency)) { [self] reference in
            await self.read(reference)
        }
        return Dictionary(uniqueKeysWithValues: zip(references, outcomes))
    }

    /// The KV path of a reference as messages show it: `secret/app/db`.
    func kvPath(_ reference: SecretReference) -> String {
        "\(mount)/\(Self.cleanPath(reference.id))"
    }

    private func read(_ reference: SecretReference) async -> Result<FetchedSecret, ProviderFailure> {
        let path = Self.cleanPath(reference.id)
        do {
            let pinned = try pinnedVersion(reference.policy)
            try checkPath(path)
            let token = try await session.token()
            return .success(try await readData(path, version: pinned, token: token))
        } catch {
            return .failure(Self.providerFailure(error).during(.read, of: kvPath(reference)))
        }
    }

    private func readData(_ path: String, version: Int?, token: VaultToken) async throws -> FetchedSecret {
        let response = try await connection.send(
            "GET", "\(vaultPathEncoded(mount))/data/\(vaultPathEncoded(path))", query: version.map { "version=\($0)" },
            token: token)
        let entry = VaultKVEntry(body: response.body)
        switch response.status {
        case 200:
            guard let entry else {
                throw ProviderFailure(
                    .invalidResponse, "the answer is not a KV version 2 entry (is '\(mount)' a KV v2 mount?)")
            }
            if let value = entry.valueJSON, !entry.deleted, !entry.destroyed {
                return FetchedSecret(version: String(entry.version), value: SecretValue(value))
            }
            return try await deletedVersion(entry, path: path, pinned: version, token: token)
        case 404:
            if let entry, entry.deleted || entry.destroyed || entry.valueJSON == nil {
                return try await deletedVersion(entry, path: path, pinned: version, token: token)
            }
            if let version {
                throw ProviderFailure(.versionNotFound, "version \(version) not found (404)", relayed: response.errorsText)
            }
            throw ProviderFailure(.notFound, "no secret at this path (404)", relayed: response.errorsText)
        default:
            throw connection.failure(for: response)
        }
    }

    /// The version read is deleted or destroyed. A pinned version is then gone; `current` falls back,
    /// through the metadata, to the newest live version.
    private func deletedVersion(_ entry: VaultKVEntry, path: String, pinned: Int?, token: VaultToken) async throws -> FetchedSecret {
        let state = entry.destroyed ? "destroyed" : "deleted"
        if pinned != nil {
            throw ProviderFailure(.versionNotFound, "version \(entry.version) is \(state)")
        }
        let metadata: VaultKVMetadata
        do {
            metadata = try await readMetadata(path, token: token)
        } catch let failure as ProviderFailure {
            var failure = failure
            failure.detail = "the newest version \(entry.version) is \(state), and finding the newest live version from the metadata failed: \(failure.detail)"
            throw failure
        }
        guard let live = metadata.newestLive else {
            throw ProviderFailure(.notFound, "every version is deleted or destroyed")
        }
        guard live != entry.version else {
            throw ProviderFailure(.invalidResponse, "Vault says version \(live) is both \(state) and live")
        }
        return try await readData(path, version: live, token: token)
    }

    // MARK: - inspect

    package func inspect(_ queries: [VersionQuery]) async -> [Result<VersionStatus, ProviderFailure>] {
        // One metadata read per path answers every policy and locked version asked about it.
        var results = [Result<VersionStatus, ProviderFailure>?](repeating: nil, count: queries.count)
        var paths: [String] = []
        var seenPaths: Set<String> = []
        var answerable: [Int] = []
        for (index, query) in queries.enumerated() {
            do {
                _ = try pinnedVersion(query.reference.policy)
            } catch {
                results[index] = .failure(Self.providerFailure(error).during(.inspect, of: kvPath(query.reference)))
                continue
            }
            answerable.append(index)
            let path = Self.cleanPath(query.reference.id)
            if seenPaths.insert(path).inserted { paths.append(path) }
        }
        let outcomes = await boundedConcurrentMap(paths, limit: max(1, metadataConcurrency)) { [self] path in
            await self.metadata(path)
        }
        var byPath: [String: Result<VaultKVMetadata, ProviderFailure>] = [:]
        for (path, outcome) in zip(paths, outcomes) { byPath[path] = outcome }
        for index in answerable {
            let query = queries[index]
            let path = Self.cleanPath(query.reference.id)
            results[index] = byPath[path]!.flatMap { status(of: query, in: $0) }
                .mapError { $0.during(.inspect, of: kvPath(query.reference)) }
        }
        return results.map { $0! }
    }

    private func metadata(_ path: String) async -> Result<VaultKVMetadata, ProviderFailure> {
        do {
            try checkPath(path)
            let token = try await session.token()
            return .success(try await readMetadata(path, token: token))
        } catch {
            return .failure(Self.providerFailure(error))
        }
    }

    private func readMetadata(_ path: String, token: VaultToken) async throws -> VaultKVMetadata {
        let response = try await connection.send(
            "GET", "\(vaultPathEncoded(mount))/metadata/\(vaultPathEncoded(path))", token: token)
        switch response.status {
        case 200:
            guard let json = response.json, let metadata = VaultKVMetadata(json: json) else {
                throw ProviderFailure(
                    .invalidResponse, "the answer is not KV version 2 metadata (is '\(mount)' a KV v2 mount?)")
            }
            return metadata
        case 404:
            throw ProviderFailure(.notFound, "no secret at this path (404)", relayed: response.errorsText)
        default:
            throw connection.failure(for: response)
        }
    }

    private func status(of query: VersionQuery, in metadata: VaultKVMetadata) -> Result<VersionStatus, ProviderFailure> {
        let reference = query.reference
        let pinned: Int?
        do {
            pinned = try pinnedVersion(reference.policy)
        } catch {
            return .failure(Self.providerFailure(error))
        }
        var notes: [String] = []
        let selected: String?
        if let pinned {
            selected = String(pinned)
        } else {
            selected = metadata.newestLive.map(String.init)
            let newest = metadata.versions.keys.max()
            if let newest, let live = metadata.newestLive, newest != live {
                let state = metadata.versions[newest]!.destroyed ? "destroyed" : "deleted"
                notes.append("\(reference): the newest version \(newest) is \(state); current is version \(live)")
            } else if metadata.newestLive == nil {
                notes.append("\(reference): every version is deleted or destroyed")
            }
        }
        var locked: VersionStatus.LockedState?
        if let lockedVersion = query.lockedVersion {
            if let number = Int(lockedVersion), let version = metadata.versions[number] {
                if version.destroyed {
                    locked = .gone(reason: "destroyed")
                } else if version.deleted {
                    locked = .gone(reason: "deleted")
                } else {
                    locked = .present
                }
            } else {
                locked = .gone(reason: "does not exist")
            }
        }
        let created = selected.flatMap(Int.init).flatMap { metadata.versions[$0]?.created }
        let dated = (query.lockedVersion ?? selected).flatMap(Int.init).flatMap { metadata.versions[$0] }
        return .success(VersionStatus(
            selected: selected, locked: locked, notes: notes, created: created, expires: dated.flatMap { metadata.expiry(of: $0) }))
    }

    // MARK: - shared

    /// The version a policy pins, nil for `current`; Vault KV has no staging labels.
    private func pinnedVersion(_ policy: VersionPolicy) throws -> Int? {
        switch policy {
        case .current:
            return nil
        case .version(let text):
            guard let number = Int(text), number > 0 else {
                throw ProviderFailure(
                    .configuration, "version '\(text)' is not a Vault KV version; versions are numbers 1, 2, 3, ...")
            }
            return number
        case .stage(let label):
            throw ProviderFailure(
                .configuration,
                "version 'stage:\(label)' cannot be used: Vault KV has no staging labels; use 'current' or a version number")
        }
    }

    func checkPath(_ path: String) throws {
        let segments = path.split(separator: "/")
        if path.isEmpty || segments.contains(".") || segments.contains("..") {
            throw ProviderFailure(.configuration, "the id is not a KV path")
        }
    }

    static func providerFailure(_ error: Error) -> ProviderFailure {
        (error as? ProviderFailure) ?? ProviderFailure(.invalidResponse, "\(error)")
    }

    static func cleanPath(_ id: String) -> String {
        id.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }
}
