import Foundation
import XCTest
import TestSupport

/// render, drift and validate through the built `inject-secrets` executable against a real OpenBao.
final class VaultEndToEndTests: OpenBaoTestCase {
    var directory: URL!
    var canaries: [Canary] = []

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        super.tearDown()
    }

    func canary(_ label: String) -> String {
        let canary = Canary(label)
        canaries.append(canary)
        return canary.value
    }

    /// A project whose manifest reads `db` (current) and `stripe` (pinned to 1) from Vault.
    func project(address: String, dbPath: String, stripePath: String) throws {
        directory = try makeTemporaryDirectory("vault-e2e")
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  vault: { type: vault, address: '\(address)', mount: secret }
                secrets:
                  db: { provider: vault, id: \(dbPath) }
                  stripe: { provider: vault, id: \(stripePath), version: 1 }
                functions:
                  checkout:
                    env:
                      DB_PASSWORD: ${secrets.db.password}
                      STRIPE_KEY: ${secrets.stripe.api_key}
                    outputs: [{ format: dotenv }]
                """
        ], in: directory)
    }

    var output: URL { directory.appendingPathComponent(".build/inject-secrets/checkout.env") }
    var lock: URL { directory.appendingPathComponent("inject-secrets.lock") }

    /// Runs the executable in the project with only the Vault variables given (see `runTool`).
    @discardableResult
    func run(_ arguments: [String], environment: [String: String], file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try runTool(
            arguments, in: directory, environment: environment, canaries: canaries.map(\.value),
            valuesOnlyIn: [".build/inject-secrets/"], file: file, line: line)
    }

    func testRenderThenDriftAfterARotation() async throws {
        let bao = try server()
        let suffix = UUID().uuidString.prefix(8)
        let dbPath = "e2e-\(suffix)/db", stripePath = "e2e-\(suffix)/stripe"
        let password1 = canary("pw1"), password2 = canary("pw2"), password3 = canary("pw3"), stripeKey = canary("stripe")
        try await bao.put(dbPath, ["password": password1])
        try await bao.put(dbPath, ["password": password2])
        try await bao.put(stripePath, ["api_key": stripeKey])
        try project(address: bao.address, dbPath: dbPath, stripePath: stripePath)

        let render = try run(["render"], environment: ["VAULT_TOKEN": "root"])
        XCTAssertEqual(render.status, 0, render.stderr)
        let rendered = try String(contentsOf: output, encoding: .utf8)
        XCTAssertTrue(rendered.contains(password2), "the current version is rendered")
        XCTAssertTrue(rendered.contains(stripeKey))
        XCTAssertFalse(rendered.contains(password1))
        let lockText = try String(contentsOf: lock, encoding: .utf8)
        XCTAssertTrue(lockText.contains("\"2\""), lockText)

        var drift = try run(["drift"], environment: ["VAULT_TOKEN": "root"])
        XCTAssertEqual(drift.status, 0, drift.stdout + drift.stderr)

        // Rotation: drift needs only metadata access.
        try await bao.put(dbPath, ["password": password3])
        try bao.writePolicy("e2e-metadata", #"path "secret/metadata/*" { capabilities = ["read"] }"#)
        let metadataToken = try bao.token(policies: ["e2e-metadata"])
        drift = try run(["drift", "--format", "json"], environment: ["VAULT_TOKEN": metadataToken])
        XCTAssertEqual(drift.status, 1, drift.stdout + drift.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(drift.stdout.utf8)) as? [String: Any]
        let entries = report?["drift"] as? [[String: Any]] ?? []
        let rotated = entries.first { $0["kind"] as? String == "rotated" }
        XCTAssertEqual(rotated?["secret"] as? String, "db", drift.stdout)
        XCTAssertEqual(rotated?["locked"] as? String, "2")
        XCTAssertEqual(rotated?["current"] as? String, "3")

        // A soft-deleted locked version is reported as gone.
        _ = try await bao.api("POST", "secret/delete/\(stripePath)", json: ["versions": [1]])
        drift = try run(["drift", "--format", "json"], environment: ["VAULT_TOKEN": metadataToken])
        XCTAssertEqual(drift.status, 1)
        XCTAssertTrue(drift.stdout.contains("version-gone"), drift.stdout)
    }

    func testBadTokenExitsThreeAndWritesNothing() async throws {
        let bao = try server()
        let suffix = UUID().uuidString.prefix(8)
        let dbPath = "e2e-\(suffix)/db", stripePath = "e2e-\(suffix)/stripe"
        try await bao.put(dbPath, ["password": canary("pw")])
        try await bao.put(stripePath, ["api_key": canary("stripe")])
        try project(address: bao.address, dbPath: dbPath, stripePath: stripePath)
        let badToken = "s.bad-\(UUID().uuidString)"

        let result = try run(["render"], environment: ["VAULT_TOKEN": badToken])
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertTrue(result.stderr.contains("permission denied"), result.stderr)
        XCTAssertTrue(result.stderr.contains("db"), result.stderr)
        XCTAssertFalse(result.stderr.contains(badToken), "the token is never printed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "nothing written")
        XCTAssertFalse(FileManager.default.fileExists(atPath: lock.path), "no lock written")
    }

    func testPlainHTTPOffLoopbackIsBadInput() throws {
        try project(address: "http://vault.example.com", dbPath: "app/db", stripePath: "app/stripe")
        let result = try run(["validate"], environment: ["VAULT_TOKEN": "root"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("HTTPS is required"), result.stderr)
        XCTAssertTrue(result.stderr.contains("inject-secrets.yaml:3:"), "the error points at the provider: \(result.stderr)")
    }
}
