import Foundation
import XCTest
@testable import InjectSecretsKit
@testable import InjectSecretsVault
import TestSupport

/// KV v2 reads, versions, metadata-only inspection and error reporting against a real OpenBao.
final class VaultKVTests: OpenBaoTestCase {
    func rootProvider(_ bao: OpenBao, extra: String = "") throws -> VaultProvider {
        try makeVaultProvider("{type: vault, address: '\(bao.address)'\(extra)}", environment: ["VAULT_TOKEN": "root"])
    }

    /// A fresh path per test, so tests share the server but not their secrets.
    func uniquePath(_ name: String) -> String { "\(name)-\(UUID().uuidString.prefix(8))/entry" }

    func testCurrentAndPinnedVersionsAreReadWithTheirFields() async throws {
        let bao = try server()
        let old = Canary("old"), new = Canary("new")
        let path = uniquePath("app")
        try await bao.put(path, ["password": old.value, "port": 5432])
        try await bao.put(path, ["password": new.value, "port": 5433, "tls": true, "ratio": 1.50])
        let provider = try rootProvider(bao)

        let current = reference("db", path)
        let pinned = reference("db_old", path, "1")
        let results = await provider.fetch([current, pinned, reference("db_again", path)])

        let fetched = try XCTUnwrap(results[current]).get()
        XCTAssertEqual(fetched.version, "2")
        XCTAssertEqual(try fields(fetched)["password"] as? String, new.value)
        // The entry's JSON text exactly as Vault sent it: numbers keep their form.
        XCTAssertTrue(fetched.value.text.contains("\"port\":5433"), "raw JSON kept")
        XCTAssertTrue(fetched.value.text.hasPrefix("{"))

        let pinnedValue = try XCTUnwrap(results[pinned]).get()
        XCTAssertEqual(pinnedValue.version, "1")
        XCTAssertEqual(try fields(pinnedValue)["password"] as? String, old.value)
        XCTAssertEqual(try XCTUnwrap(results[reference("db_again", path)]).get().version, "2")
    }

    func testInspectFindsANewVersionFromMetadataOnly() async throws {
        let bao = try server()
        let path = uniquePath("rotating")
        try await bao.put(path, ["token": Canary().value])
        let provider = try rootProvider(bao)
        let query = VersionQuery(reference: reference("api", path), lockedVersion: "1")

        var status = try await provider.inspectOne(query).get()
        XCTAssertEqual(status.selected, "1")
        XCTAssertEqual(status.locked, .present)

        try await bao.put(path, ["token": Canary().value])
        status = try await provider.inspectOne(query).get()
        XCTAssertEqual(status.selected, "2", "a rotation shows as selected != locked")
        XCTAssertEqual(status.locked, .present)
        XCTAssertEqual(bao.auditedReads(of: "secret/data/\(path)"), 0, "inspect never reads a value")
        XCTAssertEqual(bao.auditedReads(of: "secret/metadata/\(path)"), 2)
    }

    func testDeletedAndDestroyedVersionsAreGoneAndCurrentFallsBack() async throws {
        let bao = try server()
        let path = uniquePath("deleted")
        let v1 = Canary("v1"), v2 = Canary("v2"), v3 = Canary("v3")
        try await bao.put(path, ["value": v1.value])
        try await bao.put(path, ["value": v2.value])
        try await bao.put(path, ["value": v3.value])
        // Soft-delete the newest and destroy the oldest.
        var answer = try await bao.api("POST", "secret/delete/\(path)", json: ["versions": [3]])
        XCTAssertEqual(answer.status, 204)
        answer = try await bao.api("POST", "secret/destroy/\(path)", json: ["versions": [1]])
        XCTAssertEqual(answer.status, 204)
        let provider = try rootProvider(bao)

        let queries = [
            VersionQuery(reference: reference("s", path), lockedVersion: "3"),
            VersionQuery(reference: reference("s", path), lockedVersion: "1"),
            VersionQuery(reference: reference("s", path), lockedVersion: "2"),
            VersionQuery(reference: reference("s", path), lockedVersion: "9"),
        ]
        let statuses = await provider.inspectByQuery(queries)
        XCTAssertEqual(try statuses[queries[0]]?.get().locked, .gone(reason: "deleted"))
        XCTAssertEqual(try statuses[queries[0]]?.get().selected, "2", "current is the newest live version")
        XCTAssertEqual(try statuses[queries[1]]?.get().locked, .gone(reason: "destroyed"))
        XCTAssertEqual(try statuses[queries[2]]?.get().locked, .present)
        XCTAssertEqual(try statuses[queries[3]]?.get().locked, .gone(reason: "does not exist"))

        // `current` skips the soft-deleted newest version; pinning a gone version fails by name.
        let current = reference("s", path), deleted = reference("s3", path, "3"), destroyed = reference("s1", path, "1")
        let results = await provider.fetch([current, deleted, destroyed])
        let fetched = try XCTUnwrap(results[current]).get()
        XCTAssertEqual(fetched.version, "2")
        XCTAssertEqual(try fields(fetched)["value"] as? String, v2.value)
        let deletedFailure = try XCTUnwrap(results[deleted]?.failure)
        XCTAssertEqual(deletedFailure.kind, .versionNotFound)
        XCTAssertTrue(deletedFailure.message.contains("version 3 is deleted"), deletedFailure.message)
        let destroyedFailure = try XCTUnwrap(results[destroyed]?.failure)
        XCTAssertEqual(destroyedFailure.kind, .versionNotFound)
        XCTAssertTrue(destroyedFailure.message.contains("destroyed"), destroyedFailure.message)
        for canary in [v1, v2, v3] {
            XCTAssertFalse(deletedFailure.message.contains(canary.value))
            XCTAssertFalse(destroyedFailure.message.contains(canary.value))
        }
    }

    func testEveryVersionDeletedIsNotFound() async throws {
        let bao = try server()
        let path = uniquePath("all-deleted")
        try await bao.put(path, ["value": Canary().value])
        _ = try await bao.api("POST", "secret/delete/\(path)", json: ["versions": [1]])
        let provider = try rootProvider(bao)
        let ref = reference("gone", path)
        let failure = try expectFailure(await provider.fetchOne(ref))
        XCTAssertEqual(failure.kind, .notFound)
        XCTAssertTrue(failure.message.contains("every version"), failure.message)
        let query = VersionQuery(reference: ref, lockedVersion: "1")
        let status = try await provider.inspectOne(query).get()
        XCTAssertNil(status.selected)
        XCTAssertEqual(status.locked, .gone(reason: "deleted"))
    }

    func testMetadataOnlyPolicyCanInspectButNotFetch() async throws {
        let bao = try server()
        let path = uniquePath("meta-only")
        let canary = Canary("meta")
        try await bao.put(path, ["value": canary.value])
        try bao.writePolicy("metadata-only", #"path "secret/metadata/*" { capabilities = ["read"] }"#)
        let token = try bao.token(policies: ["metadata-only"])
        let provider = try makeVaultProvider(
            "{type: vault, address: '\(bao.address)'}", environment: ["VAULT_TOKEN": token])

        let query = VersionQuery(reference: reference("meta", path), lockedVersion: "1")
        let status = try await provider.inspectOne(query).get()
        XCTAssertEqual(status.selected, "1")
        XCTAssertEqual(status.locked, .present)

        let ref = reference("meta", path)
        let failure = try expectFailure(await provider.fetchOne(ref))
        XCTAssertEqual(failure.kind, .accessDenied)
        XCTAssertTrue(failure.message.contains("permission denied"), failure.message)
        XCTAssertEqual(failure.path, "secret/\(path)")
        XCTAssertFalse(failure.message.contains(canary.value))
        XCTAssertFalse(failure.message.contains(token), "the token is never printed")
    }

    func testBadTokenIsAccessDenied() async throws {
        let bao = try server()
        let path = uniquePath("bad-token")
        let canary = Canary("bad-token")
        try await bao.put(path, ["value": canary.value])
        let badToken = "s.not-a-real-token-\(UUID().uuidString)"
        let provider = try makeVaultProvider(
            "{type: vault, address: '\(bao.address)'}", environment: ["VAULT_TOKEN": badToken])
        let ref = reference("db", path)
        let failure = try expectFailure(await provider.fetchOne(ref))
        XCTAssertEqual(failure.kind, .accessDenied)
        XCTAssertTrue(failure.message.contains("permission denied"), failure.message)
        XCTAssertEqual(failure.operation, .read)
        XCTAssertEqual(failure.path, "secret/\(path)")
        XCTAssertFalse(failure.message.contains(badToken))
        XCTAssertFalse(failure.message.contains(canary.value))

        let query = VersionQuery(reference: ref, lockedVersion: "1")
        let inspectFailure = try expectFailure(await provider.inspectOne(query))
        XCTAssertEqual(inspectFailure.kind, .accessDenied)
    }

    func testMissingSecretAndVersion() async throws {
        let bao = try server()
        let path = uniquePath("present")
        try await bao.put(path, ["value": Canary().value])
        let provider = try rootProvider(bao)
        let missing = reference("missing", uniquePath("absent")), missingVersion = reference("v", path, "7")
        let results = await provider.fetch([missing, missingVersion])
        XCTAssertEqual(results[missing]?.failure?.kind, .notFound)
        XCTAssertTrue(results[missing]?.failure?.message.contains("no secret at") == true)
        XCTAssertEqual(results[missingVersion]?.failure?.kind, .versionNotFound)
        XCTAssertTrue(results[missingVersion]?.failure?.message.contains("version 7") == true)

        let query = VersionQuery(reference: missing, lockedVersion: "1")
        let kind = await provider.inspectOne(query).failure?.kind
        XCTAssertEqual(kind, .notFound)
    }

    func testNamespaceIsSentAsHeader() async throws {
        let bao = try server()
        let namespace = "team-\(UUID().uuidString.prefix(6).lowercased())"
        try bao.cli(["namespace", "create", namespace])
        try bao.cli(["secrets", "enable", "-path=secret", "kv-v2"], namespace: namespace)
        let canary = Canary("ns")
        let path = uniquePath("in-namespace")
        try await bao.put(path, ["value": canary.value], namespace: namespace)
        let ref = reference("ns", path)

        let configured = try rootProvider(bao, extra: ", namespace: \(namespace)")
        let fetched = try await configured.fetchOne(ref).get()
        XCTAssertEqual(try fields(fetched)["value"] as? String, canary.value)

        let fromEnvironment = try makeVaultProvider(
            "{type: vault, address: '\(bao.address)'}", environment: ["VAULT_TOKEN": "root", "VAULT_NAMESPACE": namespace])
        let fromEnvironmentVersion = try await fromEnvironment.fetchOne(ref).get().version
        XCTAssertEqual(fromEnvironmentVersion, "1")

        // Without the header the secret is not in the root namespace.
        let root = try rootProvider(bao)
        let kind = await root.fetchOne(ref).failure?.kind
        XCTAssertEqual(kind, .notFound)

        let unknown = try rootProvider(bao, extra: ", namespace: no-such-namespace")
        let failure = try expectFailure(await unknown.fetchOne(ref))
        XCTAssertTrue(failure.message.contains("namespace not found"), failure.message)
    }

    func testStagePoliciesAndBadVersionsAreConfigurationErrors() async throws {
        // No request is made, so no server is needed.
        let provider = try makeVaultProvider("{type: vault, address: 'http://127.0.0.1:1'}", environment: ["VAULT_TOKEN": "t"])
        let staged = reference("s", "app/db", "stage:AWSPREVIOUS"), named = reference("n", "app/db", "latest")
        let results = await provider.fetch([staged, named])
        XCTAssertEqual(results[staged]?.failure?.kind, .configuration)
        XCTAssertTrue(results[staged]?.failure?.message.contains("no staging labels") == true)
        XCTAssertEqual(results[named]?.failure?.kind, .configuration)
        let query = VersionQuery(reference: staged, lockedVersion: "1")
        let kind = await provider.inspectOne(query).failure?.kind
        XCTAssertEqual(kind, .configuration)
    }

    func testPlainHTTPOffLoopbackIsRefusedBeforeAnyRequest() throws {
        XCTAssertThrowsError(
            try makeVaultProvider("{type: vault, address: 'http://vault.example.com'}", environment: ["VAULT_TOKEN": "t"])
        ) { error in
            XCTAssertTrue("\(error)".contains("HTTPS is required"), "\(error)")
            XCTAssertTrue("\(error)".contains("inject-secrets.yaml:1:"), "the error has its place: \(error)")
        }
        XCTAssertThrowsError(
            try makeVaultProvider("{type: vault}", environment: ["VAULT_ADDR": "http://vault.example.com:8200"])
        ) { error in XCTAssertTrue("\(error)".contains("HTTPS is required"), "\(error)") }
        XCTAssertThrowsError(try makeVaultProvider("{type: vault}", environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("needs 'address'"), "\(error)")
        }
        XCTAssertNoThrow(try makeVaultProvider("{type: vault, address: 'https://vault.example.com'}"))
    }

    func testUnreachableServerIsRetriedThenReported() async throws {
        let port = try freePort()
        let provider = try makeVaultProvider(
            "{type: vault, address: 'http://127.0.0.1:\(port)'}", environment: ["VAULT_TOKEN": "root"])
        let ref = reference("db", "app/db")
        let failure = try expectFailure(await provider.fetchOne(ref))
        XCTAssertEqual(failure.kind, .unreachable)
        XCTAssertTrue(failure.message.contains("after 3 attempts"), failure.message)
        XCTAssertEqual(failure.path, "secret/app/db")
    }

    /// The engine sends distinct references (`SecretProvider`); each is one read, however many share a path.
    func testEachReferenceIsOneRead() async throws {
        let bao = try server()
        let path = uniquePath("once")
        try await bao.put(path, ["value": Canary().value])
        try await bao.put(path, ["value": Canary().value])
        let provider = try rootProvider(bao)
        let refs = [reference("s0", path), reference("s1", path, "1")]
        let results = await provider.fetch(refs)
        XCTAssertEqual(try results[refs[0]]?.get().version, "2")
        XCTAssertEqual(try results[refs[1]]?.get().version, "1")
        XCTAssertEqual(bao.auditedReads(of: "secret/data/\(path)"), 2, "one read per reference")
    }
}
