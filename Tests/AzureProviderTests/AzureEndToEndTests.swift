import Foundation
import TestSupport
import XCTest

/// render and drift through the built `inject-secrets` against the Key Vault stand-in: exit codes,
/// outputs, lock, and that no value or credential reaches stdout, stderr or the lock.
final class AzureEndToEndTests: KeyVaultTestCase {
    override func setUp() async throws {
        try await super.setUp()
        try writeManifest(functions: """
              checkout:
                env:
                  DB_PASSWORD: ${secrets.db.password}
              worker:
                env: { LOG_LEVEL: info }
            """)
    }

    /// The project's manifest: `db` is the Key Vault secret `prod-db`; `functions` are the lines under
    /// that key, indented as in the manifest (from line 7).
    func writeManifest(functions: String) throws {
        try writeFiles(["inject-secrets.yaml": """
            version: 1
            providers:
              azure: { type: azure-key-vault, vault-url: "\(fake.baseURL)" }
            secrets:
              db: { provider: azure, id: prod-db }
            functions:
            \(functions)

            """], in: directory)
    }

    func seedDB() async throws -> (version: String, password: Canary) {
        let password = canary("db-password")
        let version = try await fake.seed("prod-db", #"{"user":"app","password":"\#(password.value)"}"#)
        return (version, password)
    }

    func testRenderRotateDriftAndGoneThroughTheExecutable() async throws {
        let (v1, first) = try await seedDB()
        let render = try run(["render"])
        XCTAssertEqual(render.status, 0, render.stderr)
        XCTAssertTrue(read(".build/inject-secrets/checkout.env")?.contains(first.value) == true)
        XCTAssertFalse(read(".build/inject-secrets/worker.env")?.contains(first.value) ?? true)
        let lock = try XCTUnwrap(read("inject-secrets.lock"))
        XCTAssertTrue(lock.contains("\"version\": \"\(v1)\""), lock)
        XCTAssertTrue(lock.contains("\"locator\": \"\(fake.baseURL)/secrets/prod-db\""), lock)
        let reads1 = try await fake.counters().valueReads["prod-db"]
        XCTAssertEqual(reads1, 1)

        let inSync = try run(["drift"])
        XCTAssertEqual(inSync.status, 0, inSync.stdout + inSync.stderr)
        let (v2, _) = try await seedDB()
        let drift = try run(["drift", "--format", "json"])
        XCTAssertEqual(drift.status, 1, drift.stderr)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(drift.stdout.utf8)) as? [String: Any])
        let drifts = try XCTUnwrap(document["drift"] as? [[String: Any]])
        XCTAssertEqual(drifts.first?["kind"] as? String, "rotated", drift.stdout)
        XCTAssertEqual(drifts.first?["locked"] as? String, v1)
        XCTAssertEqual(drifts.first?["current"] as? String, v2)
        XCTAssertEqual(drifts.first?["functions"] as? [String], ["checkout"])
        let reads2 = try await fake.counters().valueReads["prod-db"]
        XCTAssertEqual(reads2, 1, "drift read no value")

        // Disabling the locked version makes it gone.
        try await fake.control("disable", ["name": "prod-db", "version": v1])
        let gone = try run(["drift", "--format", "json"])
        XCTAssertEqual(gone.status, 1)
        XCTAssertTrue(gone.stdout.contains("version-gone"), gone.stdout)
        let reads3 = try await fake.counters().valueReads["prod-db"]
        XCTAssertEqual(reads3, 1, "drift read no value")
    }

    func testWrongClientSecretExitsThreeWithTheAADSTSReasonAndWritesNothing() async throws {
        _ = try await seedDB()
        let wrong = Canary("wrong-secret")
        let result = try run(["render"], secret: wrong.value)
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertTrue(result.stderr.contains("AADSTS7000215"), result.stderr)
        XCTAssertTrue(result.stderr.contains("error: secret 'db' (provider 'azure'): reading \(fake.baseURL)/secrets/prod-db: "), result.stderr)
        XCTAssertFalse(result.stderr.contains(wrong.value))
        XCTAssertNil(read("inject-secrets.lock"), "no lock written")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent(".build").path), "no output written")
        let reads4 = try await fake.counters().valueReads["prod-db"]
        XCTAssertEqual(reads4, nil)
    }
}

extension AzureEndToEndTests {
    /// `rotate` sets a new version (PUT /secrets/{name}) through the challenge flow; drift then names the
    /// stale function.
    func testRotateSetsANewVersion() async throws {
        let (v1, first) = try await seedDB()
        XCTAssertEqual(try run(["render"]).status, 0)
        let newPassword = canary("azure-rotated")
        try writeFiles(["new-password": newPassword.value], in: directory)
        let rotate = try run(["rotate", "db", "--key", "password", "--value-from-file", "new-password", "--format", "json"])
        XCTAssertEqual(rotate.status, 0, rotate.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(rotate.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["previous"] as? String, v1)
        let v2 = try XCTUnwrap(report["version"] as? String)
        XCTAssertNotEqual(v2, v1)
        XCTAssertEqual(v2.count, 32)
        XCTAssertEqual(report["stale"] as? [String], ["checkout"])

        XCTAssertEqual(try run(["drift"]).status, 1)
        XCTAssertEqual(try run(["render"]).status, 0)
        let rendered = read(".build/inject-secrets/checkout.env") ?? ""
        XCTAssertTrue(rendered.contains(newPassword.value))
        XCTAssertFalse(rendered.contains(first.value))
        XCTAssertEqual(try run(["drift"]).status, 0)
    }
}
