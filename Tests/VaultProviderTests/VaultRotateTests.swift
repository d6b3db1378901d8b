import Foundation
import XCTest
import TestSupport

/// `rotate` against a real OpenBao: a KV write with check-and-set makes a new version, and drift then
/// names the functions rendered from the old one.
final class VaultRotateTests: OpenBaoTestCase {
    func testRotateOneFieldMakesANewVersionAndDriftNamesTheFunction() async throws {
        let bao = try server()
        let path = "rotate-\(UUID().uuidString.prefix(8))/db"
        let old = Canary("vault-old"), new = Canary("vault-new")
        _ = try await bao.put(path, ["user": "app", "password": old.value])
        let directory = try makeTemporaryDirectory("vault-rotate")
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  vault: { type: vault, address: '\(bao.address)', mount: secret }
                secrets:
                  db: { provider: vault, id: \(path) }
                functions:
                  api: { env: { DB_PASSWORD: "${secrets.db.password}" } }
                """,
            "new-password": new.value + "\n",
        ], in: directory)
        func run(_ arguments: [String], line: UInt = #line) throws -> ProcessResult {
            try runTool(arguments, in: directory, environment: ["VAULT_TOKEN": "root"], canaries: [old.value, new.value],
                valuesOnlyIn: [".build/inject-secrets/", "new-password"], line: line)
        }

        XCTAssertEqual(try run(["render"]).status, 0)
        let rotate = try run(["rotate", "db", "--key", "password", "--value-from-file", "new-password"])
        XCTAssertEqual(rotate.status, 0, rotate.stderr)
        XCTAssertTrue(rotate.stdout.contains("version 1 -> 2"), rotate.stdout)
        XCTAssertTrue(rotate.stdout.contains("stale functions: api"), rotate.stdout)

        // Version 2 holds the new password and keeps the other field.
        let read = try await bao.api("GET", "secret/data/\(path)")
        let data = ((read.json["data"] as? [String: Any])?["data"] as? [String: Any]) ?? [:]
        XCTAssertEqual(data["password"] as? String, new.value)
        XCTAssertEqual(data["user"] as? String, "app")

        let drift = try run(["drift", "--format", "json"])
        XCTAssertEqual(drift.status, 1)
        XCTAssertTrue(drift.stdout.contains("\"rotated\""), drift.stdout)
        XCTAssertEqual(try run(["render"]).status, 0)
        XCTAssertEqual(try run(["drift"]).status, 0)
    }
}
