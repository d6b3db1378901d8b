import Foundation
import TestSupport
import XCTest

@testable import InjectSecretsAzure
@testable import InjectSecretsKit

/// The Azure Key Vault provider against fake_key_vault.py: one loopback server playing the vault, Entra
/// ID's token endpoint and the managed identity endpoints (see `KeyVaultTestCase`).
final class AzureKeyVaultProviderTests: KeyVaultTestCase {
    // MARK: helpers

    func reference(_ id: String, _ policy: VersionPolicy = .current, name: String? = nil) -> SecretReference {
        SecretReference(name: name ?? id, id: id, policy: policy)
    }

    /// Fetches one reference and returns its result.
    func fetch(_ provider: any SecretProvider, _ reference: SecretReference) async -> Result<FetchedSecret, ProviderFailure> {
        await provider.fetchOne(reference)
    }

    func inspect(_ provider: any SecretProvider, _ reference: SecretReference, locked: String?) async -> Result<VersionStatus, ProviderFailure> {
        await provider.inspectOne(VersionQuery(reference: reference, lockedVersion: locked))
    }

    /// Asserts that a failure carries none of `planted`, nor a watched value (credentials, tokens).
    func assertClean(_ text: String, _ planted: [Canary] = [], file: StaticString = #filePath, line: UInt = #line) {
        for value in planted.map(\.value) + watched {
            XCTAssertFalse(text.contains(value), "leaked \(value) in: \(text)", file: file, line: line)
        }
    }

    func fetchFailure(_ provider: any SecretProvider, _ reference: SecretReference, file: StaticString = #filePath, line: UInt = #line) async throws -> ProviderFailure {
        let result = await fetch(provider, reference)
        guard case .failure(let failure) = result else {
            XCTFail("expected a failure for \(reference)", file: file, line: line)
            throw TestSupportError("expected a failure")
        }
        return failure
    }

    func inspectFailure(_ provider: any SecretProvider, _ reference: SecretReference, locked: String?, file: StaticString = #filePath, line: UInt = #line) async throws -> ProviderFailure {
        let result = await inspect(provider, reference, locked: locked)
        guard case .failure(let failure) = result else {
            XCTFail("expected a failure for \(reference)", file: file, line: line)
            throw TestSupportError("expected a failure")
        }
        return failure
    }

    // MARK: credentials

    func testClientSecretReadsLatestAndPinnedVersions() async throws {
        let old = Canary("db-old"), new = Canary("db-new")
        let v1 = try await fake.seed("prod-db", old.value)
        let v2 = try await fake.seed("prod-db", new.value)
        let provider = try makeProvider(clientSecretEnvironment)

        let latest = reference("prod-db", name: "db")
        let pinned = reference("prod-db", .version(v1), name: "db-old")
        let results = await provider.fetch([latest, pinned])
        let current = try XCTUnwrap(results[latest]).get()
        XCTAssertEqual(current.version, v2)
        XCTAssertEqual(current.value.text, new.value)
        XCTAssertEqual(current.locator, "\(fake.baseURL)/secrets/prod-db")
        XCTAssertFalse(current.locator!.contains(new.value))
        let first = try XCTUnwrap(results[pinned]).get()
        XCTAssertEqual(first.version, v1)
        XCTAssertEqual(first.value.text, old.value)

        let counters = try await fake.counters()
        XCTAssertEqual(counters.valueReads["prod-db"], 2, "each (secret, version) is read once")
        XCTAssertEqual(counters.tokenRequests["client_secret"], 1, "one token for the run")
        XCTAssertEqual(Set(counters.apiVersions), [AzureKeyVaultKind.defaultAPIVersion])
        XCTAssertEqual(counters.missingAPIVersion, 0)
    }

    func testWorkloadIdentityFederatedTokenFile() async throws {
        let value = Canary("wif")
        let version = try await fake.seed("api-token", value.value)
        let tokenFile = directory.appendingPathComponent("azure-identity-token")
        try (assertion.value + "\n").write(to: tokenFile, atomically: true, encoding: .utf8)
        let provider = try makeProvider([
            "AZURE_TENANT_ID": Self.tenant, "AZURE_CLIENT_ID": Self.clientID,
            "AZURE_FEDERATED_TOKEN_FILE": tokenFile.path, "AZURE_AUTHORITY_HOST": fake.baseURL + "/",
        ])
        let fetched = try await fetch(provider, reference("api-token")).get()
        XCTAssertEqual(fetched.version, version)
        XCTAssertEqual(fetched.value.text, value.value)
        let counters = try await fake.counters()
        XCTAssertEqual(counters.tokenRequests["federated"], 1)
        XCTAssertEqual(counters.tokenRequests["client_secret"], 0)
    }

    func testWrongFederatedAssertionCarriesEntraReason() async throws {
        _ = try await fake.seed("api-token", "x")
        let tokenFile = directory.appendingPathComponent("token")
        let wrong = Canary("wrong-assertion")
        try wrong.value.write(to: tokenFile, atomically: true, encoding: .utf8)
        let provider = try makeProvider([
            "AZURE_TENANT_ID": Self.tenant, "AZURE_CLIENT_ID": Self.clientID,
            "AZURE_FEDERATED_TOKEN_FILE": tokenFile.path, "AZURE_AUTHORITY_HOST": fake.baseURL,
        ])
        let failure = try await fetchFailure(provider, reference("api-token"))
        XCTAssertEqual(failure.kind, .authentication)
        XCTAssertTrue(failure.message.contains("AADSTS70021"), failure.message)
        XCTAssertTrue(failure.message.contains("workload identity"), failure.message)
        assertClean(failure.message, [wrong])
    }

    func testAppServiceManagedIdentity() async throws {
        let value = Canary("app-service")
        _ = try await fake.seed("conn", value.value)
        let provider = try makeProvider([
            "IDENTITY_ENDPOINT": fake.baseURL + "/msi/token", "IDENTITY_HEADER": identityHeader.value,
        ])
        let fetched = try await fetch(provider, reference("conn")).get()
        XCTAssertEqual(fetched.value.text, value.value)
        let counters = try await fake.counters()
        XCTAssertEqual(counters.tokenRequests["app_service"], 1)
    }

    func testAppServiceManagedIdentityWithWrongHeader() async throws {
        _ = try await fake.seed("conn", "x")
        let wrong = Canary("wrong-header")
        let provider = try makeProvider(["IDENTITY_ENDPOINT": fake.baseURL + "/msi/token", "IDENTITY_HEADER": wrong.value])
        let failure = try await fetchFailure(provider, reference("conn"))
        XCTAssertEqual(failure.kind, .authentication)
        XCTAssertTrue(failure.message.contains("App Service"), failure.message)
        assertClean(failure.message, [wrong])
    }

    /// IMDS through AZURE_POD_IDENTITY_AUTHORITY_HOST, the Azure SDKs' own override of the IMDS host (AAD
    /// Pod Identity, emulators): no test-only hook in the provider.
    func testIMDSManagedIdentityThroughPodIdentityAuthorityHost() async throws {
        let value = Canary("imds")
        _ = try await fake.seed("conn", value.value)
        let provider = try makeProvider(["AZURE_POD_IDENTITY_AUTHORITY_HOST": fake.baseURL])
        let fetched = try await fetch(provider, reference("conn")).get()
        XCTAssertEqual(fetched.value.text, value.value)
        let counters = try await fake.counters()
        XCTAssertEqual(counters.tokenRequests["imds"], 1)
    }

    func testNoCredentialAnywhereSaysWhatToSet() async throws {
        _ = try await fake.seed("conn", "x")
        // A closed loopback port stands in for a machine without IMDS.
        let closed = try freePort()
        let provider = try makeProvider([
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:\(closed)", "AZURE_CLIENT_SECRET": clientSecret.value,
        ])
        let failure = try await fetchFailure(provider, reference("conn"))
        XCTAssertEqual(failure.kind, .authentication)
        XCTAssertTrue(failure.message.contains("no Azure credential found"), failure.message)
        XCTAssertTrue(failure.message.contains("missing: AZURE_TENANT_ID, AZURE_CLIENT_ID"), failure.message)
        assertClean(failure.message)
    }

    func testWrongClientSecretIsAnAuthenticationFailureWithTheAADSTSReason() async throws {
        let value = Canary("db")
        _ = try await fake.seed("prod-db", value.value)
        let wrong = Canary("wrong-secret")
        var environment = clientSecretEnvironment
        environment["AZURE_CLIENT_SECRET"] = wrong.value
        let provider = try makeProvider(environment)
        let failure = try await fetchFailure(provider, reference("prod-db", name: "db"))
        XCTAssertEqual(failure.kind, .authentication)
        XCTAssertTrue(failure.message.contains("AADSTS7000215: Invalid client secret provided"), failure.message)
        XCTAssertTrue(failure.message.contains("invalid_client"), failure.message)
        XCTAssertEqual(failure.operation, .read)
        XCTAssertEqual(failure.path, "\(fake.baseURL)/secrets/prod-db", "names the vault and the secret")
        XCTAssertFalse(failure.message.contains("Trace ID"), "only Entra's first line: \(failure.message)")
        assertClean(failure.message, [value, wrong])
        let counters = try await fake.counters()
        XCTAssertEqual(counters.valueReads["prod-db"], nil)
    }

    func testTokensAreCachedForTheRunAndRefreshedBeforeExpiry() async throws {
        _ = try await fake.seed("one", "1")
        _ = try await fake.seed("two", "2")
        let provider = try makeProvider(clientSecretEnvironment)
        _ = try await fetch(provider, reference("one")).get()
        _ = try await fetch(provider, reference("two")).get()
        var counters = try await fake.counters()
        XCTAssertEqual(counters.tokenRequests["client_secret"], 1, "a token lasts the run")

        // A token with less than 5 minutes left is replaced before it is used, as the SDKs do.
        try await fake.control("configure", ["token_lifetime": 120])
        let shortLived = try makeProvider(clientSecretEnvironment)
        _ = try await fetch(shortLived, reference("one")).get()
        _ = try await fetch(shortLived, reference("two")).get()
        counters = try await fake.counters()
        XCTAssertEqual(counters.tokenRequests["client_secret"], 3)
    }

    func testEntraOutagesAndThrottlingAreRetried() async throws {
        let value = Canary("after-retry")
        _ = try await fake.seed("prod-db", value.value)
        try await fake.control("fault", ["prefix": "/\(Self.tenant)/oauth2", "status": 503, "count": 1])
        try await fake.control("fault", ["prefix": "/\(Self.tenant)/oauth2", "status": 429, "count": 1, "retry_after": 0])
        let fetched = try await fetch(try makeProvider(clientSecretEnvironment), reference("prod-db")).get()
        XCTAssertEqual(fetched.value.text, value.value)
        let counters = try await fake.counters()
        XCTAssertEqual(counters.faultsServed, 2)
        XCTAssertEqual(counters.tokenRequests["client_secret"], 1)
    }

    func testNoValueOrCredentialInDescriptionsAndDumps() async throws {
        let value = Canary("dumped")
        _ = try await fake.seed("prod-db", value.value)
        let provider = try makeProvider(clientSecretEnvironment)
        let fetched = try await fetch(provider, reference("prod-db")).get()
        var dumped = ""
        dump(provider, to: &dumped)
        dump(fetched, to: &dumped)
        let texts = ["\(provider)", String(reflecting: provider), "\(fetched)", String(reflecting: fetched), dumped]
        for text in texts { assertClean(text, [value]) }
        let credential = AzureCredential(environment: clientSecretEnvironment, client: .shared)
        var credentialDump = ""
        dump(credential, to: &credentialDump)
        assertClean(credentialDump + credential.label)
    }

    // MARK: versions

    func testDisabledLatestFallsBackToTheNewestEnabledVersion() async throws {
        let v1 = try await fake.seed("prod-db", "one")
        let v2 = try await fake.seed("prod-db", "two")
        let v3 = try await fake.seed("prod-db", Canary("disabled").value)
        try await fake.control("disable", ["name": "prod-db", "version": v3])
        let provider = try makeProvider(clientSecretEnvironment)
        let fetched = try await fetch(provider, reference("prod-db")).get()
        XCTAssertEqual(fetched.version, v2)
        XCTAssertEqual(fetched.value.text, "two")

        let status = try await inspect(provider, reference("prod-db"), locked: v1).get()
        XCTAssertEqual(status.selected, v2)
        XCTAssertEqual(status.locked, .present)
    }

    func testInspectFollowsNextLinkAndReadsNoValue() async throws {
        try await fake.control("configure", ["page_cap": 2])
        var versions: [String] = []
        for index in 1...5 { versions.append(try await fake.seed("prod-db", Canary("v\(index)").value)) }
        let provider = try makeProvider(clientSecretEnvironment, settings: [("api-version", "7.6")])

        let status = try await inspect(provider, reference("prod-db"), locked: versions[0]).get()
        XCTAssertEqual(status.selected, versions[4], "a new version is found across pages")
        XCTAssertEqual(status.locked, .present)
        XCTAssertEqual(status.locator, "\(fake.baseURL)/secrets/prod-db")

        let counters = try await fake.counters()
        XCTAssertEqual(counters.listPages, 3, "5 versions in pages of 2")
        XCTAssertTrue(counters.valueReads.isEmpty, "inspect reads no value: \(counters.valueReads)")
        XCTAssertEqual(Set(counters.apiVersions), ["7.6"], "api-version set on every call, nextLink included")
        XCTAssertEqual(counters.missingAPIVersion, 0)
    }

    func testRotationIsSeenByInspect() async throws {
        let v1 = try await fake.seed("prod-db", "one")
        let provider = try makeProvider(clientSecretEnvironment)
        let before = try await inspect(provider, reference("prod-db"), locked: v1).get()
        XCTAssertEqual(before.selected, v1)
        let v2 = try await fake.seed("prod-db", "two")
        let status = try await inspect(provider, reference("prod-db"), locked: v1).get()
        XCTAssertEqual(status.selected, v2)
        XCTAssertEqual(status.locked, .present)
        let counters = try await fake.counters()
        XCTAssertTrue(counters.valueReads.isEmpty)
    }

    func testDisabledOrDeletedLockedVersionIsGone() async throws {
        let v1 = try await fake.seed("prod-db", Canary("old").value)
        let v2 = try await fake.seed("prod-db", "new")
        try await fake.control("disable", ["name": "prod-db", "version": v1])
        let provider = try makeProvider(clientSecretEnvironment)

        let disabled = try await inspect(provider, reference("prod-db"), locked: v1).get()
        XCTAssertEqual(disabled.locked, .gone(reason: "disabled"))
        XCTAssertEqual(disabled.selected, v2)

        let pinnedDisabled = try await inspect(provider, reference("prod-db", .version(v1)), locked: v1).get()
        XCTAssertEqual(pinnedDisabled.locked, .gone(reason: "disabled"))

        let unknown = String(repeating: "ab", count: 16)
        let missing = try await inspect(provider, reference("prod-db"), locked: unknown).get()
        XCTAssertEqual(missing.locked, .gone(reason: "deleted"))

        // Reading the disabled version fails as a missing version, naming why.
        let read = try await fetchFailure(provider, reference("prod-db", .version(v1), name: "db"))
        XCTAssertEqual(read.kind, .versionNotFound)
        XCTAssertTrue(read.message.contains("disabled") && read.message.contains("SecretDisabled"), read.message)

        try await fake.control("delete", ["name": "prod-db"])
        let deleted = try await inspect(provider, reference("prod-db"), locked: v2).get()
        XCTAssertEqual(deleted.locked, .gone(reason: "deleted"))
        XCTAssertNil(deleted.selected)
        let counters = try await fake.counters()
        XCTAssertTrue(counters.valueReads.isEmpty)
    }

    func testMissingSecretAndVersionAreNotFound() async throws {
        _ = try await fake.seed("prod-db", "x")
        let provider = try makeProvider(clientSecretEnvironment)
        let missing = try await fetchFailure(provider, reference("no-such-secret", name: "ghost"))
        XCTAssertEqual(missing.kind, .notFound)
        XCTAssertTrue(missing.relayed?.contains("SecretNotFound") == true, missing.message)
        XCTAssertEqual(missing.path, "\(fake.baseURL)/secrets/no-such-secret")
        let version = String(repeating: "0", count: 32)
        let missingVersion = try await fetchFailure(provider, reference("prod-db", .version(version)))
        XCTAssertEqual(missingVersion.kind, .versionNotFound)
        // inspect of an unknown secret without a lock entry is a failure, not a silent nil
        let listed = try await inspectFailure(provider, reference("no-such-secret"), locked: nil)
        XCTAssertEqual(listed.kind, .notFound)
    }

    // MARK: the challenge, retries and configuration

    func testThrottlingIsRetriedAfterRetryAfter() async throws {
        let value = Canary("throttled")
        _ = try await fake.seed("prod-db", value.value)
        try await fake.control("fault", ["prefix": "/secrets/prod-db", "status": 429, "count": 1, "retry_after": 1])
        try await fake.control("fault", ["prefix": "/secrets/prod-db", "status": 503, "count": 1])
        let provider = try makeProvider(clientSecretEnvironment)
        let started = Date()
        let fetched = try await fetch(provider, reference("prod-db")).get()
        XCTAssertEqual(fetched.value.text, value.value)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.9, "waited for Retry-After")
        let counters = try await fake.counters()
        XCTAssertEqual(counters.faultsServed, 2)
    }

    func testALaterUnauthorizedRedoesTheChallengeWithAFreshToken() async throws {
        _ = try await fake.seed("prod-db", "one")
        let provider = try makeProvider(clientSecretEnvironment)
        _ = try await fetch(provider, reference("prod-db")).get()
        try await fake.control("revoke-tokens")
        _ = try await fetch(provider, reference("prod-db")).get()
        let counters = try await fake.counters()
        XCTAssertEqual(counters.tokenRequests["client_secret"], 2)
        XCTAssertEqual(counters.challenges, 2, "the first request, and the one with the revoked token")
    }

    func testChallengeTenantOtherThanTheCredentialsNeedsToBeAllowed() async throws {
        let other = "33333333-3333-3333-3333-333333333333"
        try await fake.control("configure", [
            "challenge_tenant": other,
            "clients": [Self.clientID: ["tenants": [Self.tenant, other], "secret": clientSecret.value]],
        ])
        _ = try await fake.seed("prod-db", "x")
        let refused = try await fetchFailure(try makeProvider(clientSecretEnvironment), reference("prod-db"))
        XCTAssertEqual(refused.kind, .authentication)
        XCTAssertTrue(refused.message.contains("AZURE_ADDITIONALLY_ALLOWED_TENANTS") && refused.message.contains(other), refused.message)

        var environment = clientSecretEnvironment
        environment["AZURE_ADDITIONALLY_ALLOWED_TENANTS"] = other
        _ = try await fetch(try makeProvider(environment), reference("prod-db")).get()
    }

    func testInvalidNamesVersionsAndStagesAreConfigurationErrors() async throws {
        let provider = try makeProvider(clientSecretEnvironment)
        for bad in [reference("prod/db"), reference("prod_db"), reference(String(repeating: "a", count: 128)),
                    reference("db", .version("7")), reference("db", .stage("AWSPREVIOUS"))] {
            let refused = try await fetchFailure(provider, bad)
            XCTAssertEqual(refused.kind, .configuration, refused.message)
            XCTAssertFalse(AzureKeyVaultKind.problems(with: bad).isEmpty)
        }
        XCTAssertTrue(AzureKeyVaultKind.problems(with: reference("prod/db"))[0].contains("perhaps 'prod-db'"))
        XCTAssertTrue(AzureKeyVaultKind.problems(with: reference("db", .stage("X")))[0].contains("no staging labels"))
        XCTAssertEqual(AzureKeyVaultKind.problems(with: reference("Prod-DB-2", .version(String(repeating: "a", count: 32)))), [])
        let counters = try await fake.counters()
        XCTAssertEqual(counters.requests, 0, "nothing was sent")
    }

    func testSettingsAreCheckedWithTheirPlace() throws {
        func make(_ pairs: [(String, String)]) throws {
            _ = try AzureKeyVaultKind.make(providerDeclaration(
                [("type", AzureKeyVaultKind.typeName)] + pairs, name: "azure", path: "m.yaml", baseDirectory: directory))
        }
        func error(_ pairs: [(String, String)]) -> String {
            do { try make(pairs); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(error([]).contains("needs 'vault-url'"))
        XCTAssertTrue(error([("vault-url", "http://example.vault.azure.net")]).contains("m.yaml:2:"))
        XCTAssertTrue(error([("vault-url", "https://x.vault.azure.net/secrets")]).contains("base URL"))
        XCTAssertTrue(error([("vault-url", "https://x.vault.azure.net"), ("api-version", "latest")]).contains("m.yaml:3:"))
        XCTAssertTrue(error([("vault-uri", "https://x.vault.azure.net")]).contains("did you mean 'vault-url'"))
        XCTAssertNoThrow(try make([("vault-url", "https://x.vault.azure.net/"), ("api-version", "2026-04-01")]))
    }

    func testAPlainHTTPAuthorityOffLoopbackIsRefused() async throws {
        _ = try await fake.seed("prod-db", "x")
        var environment = clientSecretEnvironment
        environment["AZURE_AUTHORITY_HOST"] = "http://login.example.com"
        let failure = try await fetchFailure(try makeProvider(environment), reference("prod-db"))
        XCTAssertEqual(failure.kind, .configuration)
        XCTAssertTrue(failure.message.contains("AZURE_AUTHORITY_HOST"), failure.message)
        let counters = try await fake.counters()
        XCTAssertEqual(counters.tokenRequests["client_secret"], 0)
    }
}

/// The pieces that need no server.
final class AzureKeyVaultUnitTests: XCTestCase {
    func testChallengeParsing() throws {
        let challenge = try XCTUnwrap(BearerChallenge(header:
            #"Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net""#))
        XCTAssertEqual(challenge.tenantID, "72f988bf-86f1-41af-91ab-2d7cd011db47")
        XCTAssertEqual(challenge.scope, "https://vault.azure.net/.default")
        XCTAssertNil(challenge.mismatch(vaultHost: "myvault.vault.azure.net"))
        XCTAssertNotNil(challenge.mismatch(vaultHost: "vault.azure.net.evil.example"))
        XCTAssertNotNil(challenge.mismatch(vaultHost: "myvault.vault.azure.cn"))
        XCTAssertNil(challenge.mismatch(vaultHost: "127.0.0.1"), "loopback: the tests' stand-in")

        let scoped = try XCTUnwrap(BearerChallenge(header:
            #"Bearer authorization_uri="https://login.microsoftonline.us/tenant-x/", scope="https://vault.usgovcloudapi.net/.default", PoP nonce="abc""#))
        XCTAssertEqual(scoped.tenantID, "tenant-x")
        XCTAssertEqual(scoped.scope, "https://vault.usgovcloudapi.net/.default")
        XCTAssertNil(scoped.mismatch(vaultHost: "v.vault.usgovcloudapi.net"))
        XCTAssertNil(BearerChallenge(header: #"Basic realm="x""#))
    }

    func testOnlyTheExactIMDSEndpointGetsThePlainHTTPException() throws {
        XCTAssertTrue(IMDSEndpoint.isTheEndpoint(URL(string: "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x")!))
        XCTAssertFalse(IMDSEndpoint.isTheEndpoint(URL(string: "http://169.254.169.254:8080/metadata/identity/oauth2/token")!))
        XCTAssertFalse(IMDSEndpoint.isTheEndpoint(URL(string: "http://169.254.169.254/metadata/instance")!))
        XCTAssertFalse(IMDSEndpoint.isTheEndpoint(URL(string: "http://169.254.169.25/metadata/identity/oauth2/token")!))
        XCTAssertFalse(IMDSEndpoint.isTheEndpoint(URL(string: "http://login.example.com/metadata/identity/oauth2/token")!))
        // and the general policy is unchanged
        XCTAssertThrowsError(try EndpointPolicy.checked("http://169.254.169.254/metadata/identity/oauth2/token"))
    }

    func testTokenLifetimesAreParsedLeniently() throws {
        let now = Date(timeIntervalSince1970: 1_000)
        XCTAssertEqual(tokenLifetime(["expires_in": 3599], now: now)?.expiresOn, Date(timeIntervalSince1970: 4_599))
        XCTAssertEqual(tokenLifetime(["expires_on": "1700000000", "expires_in": "10"], now: now)?.expiresOn, Date(timeIntervalSince1970: 1_700_000_000))
        XCTAssertEqual(tokenLifetime(["expires_in": "60", "refresh_in": 30], now: now)?.refreshOn, Date(timeIntervalSince1970: 1_030))
        XCTAssertNil(tokenLifetime(["access_token": "x"], now: now))
        let token = AzureAccessToken(token: "secret-token", expiresOn: now)
        XCTAssertFalse("\(token)".contains("secret-token"))
        XCTAssertFalse(String(reflecting: token).contains("secret-token"))
    }

    func testTenantResolutionFollowsTheSDKs() throws {
        XCTAssertEqual(try AzureCredential.resolveTenant(configured: "a", challenge: "a", environment: [:], credential: "c"), "a")
        XCTAssertEqual(try AzureCredential.resolveTenant(configured: "a", challenge: nil, environment: [:], credential: "c"), "a")
        XCTAssertNil(try AzureCredential.resolveTenant(configured: nil, challenge: "b", environment: [:], credential: "mi"))
        XCTAssertThrowsError(try AzureCredential.resolveTenant(configured: "a", challenge: "b", environment: [:], credential: "c"))
        XCTAssertEqual(try AzureCredential.resolveTenant(
            configured: "a", challenge: "b", environment: ["AZURE_ADDITIONALLY_ALLOWED_TENANTS": "x; *"], credential: "c"), "b")
        XCTAssertEqual(try AzureCredential.resolveTenant(
            configured: "a", challenge: "b", environment: ["AZURE_IDENTITY_DISABLE_MULTITENANTAUTH": "true"], credential: "c"), "a")
    }

    func testEntraErrorTextKeepsTheFirstLineAndHidesSecrets() {
        XCTAssertEqual(issuerText("AADSTS7000215: Invalid client secret hunter2.\r\nTrace ID: 1", hiding: ["hunter2"]),
                       "AADSTS7000215: Invalid client secret <redacted>.")
    }

    func testVersionOfASecretID() {
        XCTAssertEqual(AzureKeyVaultProvider.version(ofID: "https://v.vault.azure.net/secrets/db/0123456789abcdef0123456789abcdef"),
                       "0123456789abcdef0123456789abcdef")
        XCTAssertNil(AzureKeyVaultProvider.version(ofID: "https://v.vault.azure.net/secrets/db"))
    }
}
