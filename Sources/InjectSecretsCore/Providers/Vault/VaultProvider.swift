import Foundation

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
public enum VaultStore: SecretProviderKind {
    public static let typeName = "vault"
    public static let settingKeys = ["address", "mount", "namespace", "auth", "ca-file"]

    public static func make(_ declaration: ProviderDeclaration) throws -> any SecretProvider {
        try makeVault(declaration)
    }

    public static func problems(with reference: SecretReference) -> [String] {
        switch reference.policy {
        case .current: return []
        case .stage(let label):
            return ["secret '\(reference.name)': version 'stage:\(label)' cannot be used: Vault KV has no staging labels; use 'current' or a version number"]
        case .version(let id):
            return UInt(id).map { $0 > 0 } == true ? [] : ["secret '\(reference.name)': version '\(id)' cannot be used: a Vault KV version is a number from 1"]
        }
    }

    /// `make`, typed: for callers that need `finish()`.
    public static func makeVault(
        _ declaration: ProviderDeclaration, client: HTTPClient = .shared, retry: RetryPolicy = .standard
    ) throws -> VaultProvider {
        let settings = try ProviderSettings(declaration, allowed: settingKeys)
        let environment = declaration.environment
        let fallbackAddress = environment["VAULT_ADDR"].flatMap { $0.isEmpty ? nil : $0 }
        guard let address = try settings.endpointURL("address", fallback: fallbackAddress) else {
            throw InjectSecretsError.badInput(
                "provider '\(declaration.name)' of type 'vault' needs 'address' (or VAULT_ADDR in the environment)",
                at: declaration.node.location)
        }
        let mount = (try settings.string("mount") ?? "secret").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !mount.isEmpty else {
            throw InjectSecretsError.badInput(
                "'mount' of provider '\(declaration.name)' is empty", at: settings.location(of: "mount"))
        }
        let namespaceText = try settings.string("namespace") ?? environment["VAULT_NAMESPACE"] ?? ""
        let namespace = namespaceText.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let auth = try VaultAuthSettings.parse(settings.node("auth"), declaration: declaration)
        // As the Vault CLI: VAULT_CACERT (a PEM bundle) before VAULT_CAPATH (a folder of hashed certificates).
        let trust = try settings.caBundle("ca-file")
            ?? TLSTrust.fromEnvironment(
                environment, fileVariables: ["VAULT_CACERT"], folderVariables: ["VAULT_CAPATH"], at: declaration.node.location)
        return VaultProvider(
            name: declaration.name, address: address, mount: mount, namespace: namespace.isEmpty ? nil : namespace,
            auth: auth, environment: environment, client: client.trusting(trust).proxying(from: environment), retry: retry)
    }
}

/// Reads KV v2 entries: `fetch` through `/v1/{mount}/data/{path}`, `inspect` through
/// `/v1/{mount}/metadata/{path}` only. One login per run; call `finish()` when the run ends.
public struct VaultProvider: SecretProvider {
    public let name: String
    public let mount: String
    let connection: VaultConnection
    let session: VaultSession
    /// How many reads run at once.
    public var concurrency: Int = 8

    public init(
        name: String, address: URL, mount: String = "secret", namespace: String? = nil,
        auth: VaultAuthMethod = .token(variable: "VAULT_TOKEN", file: nil), environment: [String: String],
        client: HTTPClient = .shared, retry: RetryPolicy = .standard
    ) {
        self.name = name
        self.mount = mount
        let connection = VaultConnection(
            provider: name, address: address, namespace: namespace, client: client, retry: retry)
        self.connection = connection
        self.session = VaultSession(connection: connection, method: auth, environment: environment)
    }

    /// Ends the run (`SecretProvider.finish`): revokes the token if this run created it by a login
    /// (AppRole, JWT, Kubernetes); a supplied token (VAULT_TOKEN, ~/.vault-token) is kept. Safe to call
    /// more than once and when nothing was read.
    public func finish() async {
        _ = await session.finish()
    }

    public func credentialsInUse() async -> [String] {
        await session.tokenInUse().map { [$0.text] } ?? []
    }

    /// `finish()`, returning a warning when the revocation failed (the token then lives until its TTL).
    public func finishReportingRevocation() async -> String? {
        await session.finish()
    }

    // MARK: - fetch

    private struct Read: Hashable {
        var path: String
        var policy: VersionPolicy
    }

    public func fetch(_ references: [SecretReference]) async -> [SecretReference: Result<FetchedSecret, ProviderFailure>] {
        var firstReference: [Read: SecretReference] = [:]
        var reads: [Read] = []
        for reference in references {
            let read = Read(path: Self.cleanPath(reference.id), policy: reference.policy)
            if firstReference[read] == nil {
                firstReference[read] = reference
                reads.append(read)
            }
        }
        let owners = firstReference
        let outcomes = await boundedConcurrentMap(reads, limit: max(1, concurrency)) { [self] read in
            await self.read(read, for: owners[read]!)
        }
        var byRead: [Read: Result<FetchedSecret, ProviderFailure>] = [:]
        for (read, outcome) in zip(reads, outcomes) { byRead[read] = outcome }
        var results: [SecretReference: Result<FetchedSecret, ProviderFailure>] = [:]
        for reference in references {
            results[reference] = byRead[Read(path: Self.cleanPath(reference.id), policy: reference.policy)]
        }
        return results
    }

    private func read(_ read: Read, for reference: SecretReference) async -> Result<FetchedSecret, ProviderFailure> {
        do {
            let pinned = try pinnedVersion(read.policy, reference: reference)
            try checkPath(read.path, reference: reference)
            let token = try await session.token()
            return .success(try await readData(read.path, version: pinned, reference: reference, token: token))
        } catch let failure as ProviderFailure {
            return .failure(failure)
        } catch {
            return .failure(ProviderFailure(.invalidResponse, "vault provider '\(name)': secret \(reference): \(error)"))
        }
    }

    private func readData(
        _ path: String, version: Int?, reference: SecretReference, token: VaultToken
    ) async throws -> FetchedSecret {
        let dataPath = "\(mount)/data/\(path)"
        let versionNote = version.map { " version \($0)" } ?? ""
        let what = "reading \(dataPath)\(versionNote)"
        let response = try await connection.send(
            "GET", "\(vaultPathEncoded(mount))/data/\(vaultPathEncoded(path))", query: version.map { "version=\($0)" },
            token: token, what: what)
        let entry = VaultKVEntry(body: response.body)
        switch response.status {
        case 200:
            guard let entry else {
                throw ProviderFailure(
                    .invalidResponse,
                    "vault provider '\(name)': \(what): the answer is not a KV version 2 entry (is '\(mount)' a KV v2 mount?)")
            }
            if let value = entry.valueJSON, !entry.deleted, !entry.destroyed {
                return FetchedSecret(version: String(entry.version), value: SecretValue(value))
            }
            return try await deletedVersion(entry, path: path, pinned: version, reference: reference, token: token, what: what)
        case 404:
            if let entry, entry.deleted || entry.destroyed || entry.valueJSON == nil {
                return try await deletedVersion(entry, path: path, pinned: version, reference: reference, token: token, what: what)
            }
            if let version {
                throw ProviderFailure(
                    .versionNotFound,
                    "vault provider '\(name)': \(what): version \(version) of \(mount)/\(path) not found (404)\(response.saidNote)")
            }
            throw ProviderFailure(
                .notFound, "vault provider '\(name)': \(what): no secret at \(mount)/\(path) (404)\(response.saidNote)")
        default:
            throw connection.failure(for: response, what: what)
        }
    }

    /// The version read is deleted or destroyed. A pinned version is then gone; `current` falls back,
    /// through the metadata, to the newest live version.
    private func deletedVersion(
        _ entry: VaultKVEntry, path: String, pinned: Int?, reference: SecretReference, token: VaultToken, what: String
    ) async throws -> FetchedSecret {
        let state = entry.destroyed ? "destroyed" : "deleted"
        if pinned != nil {
            throw ProviderFailure(
                .versionNotFound, "vault provider '\(name)': \(what): version \(entry.version) is \(state)")
        }
        let metadata: VaultKVMetadata
        do {
            metadata = try await readMetadata(path, reference: reference, token: token)
        } catch let failure as ProviderFailure {
            throw ProviderFailure(
                failure.kind,
                "vault provider '\(name)': \(what): the newest version \(entry.version) is \(state), and finding the newest live version from the metadata failed: \(failure.message)")
        }
        guard let live = metadata.newestLive else {
            throw ProviderFailure(
                .notFound, "vault provider '\(name)': \(what): every version of \(mount)/\(path) is deleted or destroyed")
        }
        guard live != entry.version else {
            throw ProviderFailure(
                .invalidResponse, "vault provider '\(name)': \(what): Vault says version \(live) is both \(state) and live")
        }
        return try await readData(path, version: live, reference: reference, token: token)
    }

    // MARK: - inspect

    public func inspect(_ queries: [VersionQuery]) async -> [VersionQuery: Result<VersionStatus, ProviderFailure>] {
        var results: [VersionQuery: Result<VersionStatus, ProviderFailure>] = [:]
        var firstReference: [String: SecretReference] = [:]
        var paths: [String] = []
        var answerable: [VersionQuery] = []
        for query in queries {
            do {
                _ = try pinnedVersion(query.reference.policy, reference: query.reference)
            } catch {
                results[query] = .failure(Self.providerFailure(error))
                continue
            }
            answerable.append(query)
            let path = Self.cleanPath(query.reference.id)
            if firstReference[path] == nil {
                firstReference[path] = query.reference
                paths.append(path)
            }
        }
        let owners = firstReference
        let outcomes = await boundedConcurrentMap(paths, limit: max(1, concurrency)) { [self] path in
            await self.metadata(path, for: owners[path]!)
        }
        var byPath: [String: Result<VaultKVMetadata, ProviderFailure>] = [:]
        for (path, outcome) in zip(paths, outcomes) { byPath[path] = outcome }
        for query in answerable {
            let path = Self.cleanPath(query.reference.id)
            results[query] = byPath[path]!.flatMap { status(of: query, in: $0) }
        }
        return results
    }

    private func metadata(_ path: String, for reference: SecretReference) async -> Result<VaultKVMetadata, ProviderFailure> {
        do {
            try checkPath(path, reference: reference)
            let token = try await session.token()
            return .success(try await readMetadata(path, reference: reference, token: token))
        } catch let failure as ProviderFailure {
            return .failure(failure)
        } catch {
            return .failure(ProviderFailure(.invalidResponse, "vault provider '\(name)': secret \(reference): \(error)"))
        }
    }

    private func readMetadata(_ path: String, reference: SecretReference, token: VaultToken) async throws -> VaultKVMetadata {
        let what = "reading \(mount)/metadata/\(path)"
        let response = try await connection.send(
            "GET", "\(vaultPathEncoded(mount))/metadata/\(vaultPathEncoded(path))", token: token, what: what)
        switch response.status {
        case 200:
            guard let json = response.json, let metadata = VaultKVMetadata(json: json) else {
                throw ProviderFailure(
                    .invalidResponse,
                    "vault provider '\(name)': \(what): the answer is not KV version 2 metadata (is '\(mount)' a KV v2 mount?)")
            }
            return metadata
        case 404:
            throw ProviderFailure(
                .notFound, "vault provider '\(name)': \(what): no secret at \(mount)/\(path) (404)\(response.saidNote)")
        default:
            throw connection.failure(for: response, what: what)
        }
    }

    private func status(of query: VersionQuery, in metadata: VaultKVMetadata) -> Result<VersionStatus, ProviderFailure> {
        let reference = query.reference
        let pinned: Int?
        do {
            pinned = try pinnedVersion(reference.policy, reference: reference)
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
    private func pinnedVersion(_ policy: VersionPolicy, reference: SecretReference) throws -> Int? {
        switch policy {
        case .current:
            return nil
        case .version(let text):
            guard let number = Int(text), number > 0 else {
                throw ProviderFailure(
                    .configuration,
                    "vault provider '\(name)': version '\(text)' of \(reference.id) is not a Vault KV version; versions are numbers 1, 2, 3, ...")
            }
            return number
        case .stage(let label):
            throw ProviderFailure(
                .configuration,
                "vault provider '\(name)': version 'stage:\(label)' of \(reference.id) cannot be used: Vault KV has no staging labels; use 'current' or a version number")
        }
    }

    private func checkPath(_ path: String, reference: SecretReference) throws {
        let segments = path.split(separator: "/")
        if path.isEmpty || segments.contains(".") || segments.contains("..") {
            throw ProviderFailure(
                .configuration, "vault provider '\(name)': '\(reference.id)' is not a KV path")
        }
    }

    static func providerFailure(_ error: Error) -> ProviderFailure {
        (error as? ProviderFailure) ?? ProviderFailure(.configuration, "\(error)")
    }

    static func cleanPath(_ id: String) -> String {
        id.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }
}
