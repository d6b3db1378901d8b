import Foundation
import XCTest
@testable import InjectSecretsCore
import TestSupport

/// `rotate` against a real OpenBao: a KV write with check-and-set makes a new version, and drift then
/// names the functions rendered from the old one.
final class VaultRotateTests: XCTestCase {
    static var bao: Result<OpenBao, Error>?

    override class func setUp() {
        super.setUp()
        bao = OpenBao.start()
    }

    override class func tearDown() {
        if case .success(let bao) = bao { bao.stop() }
        super.tearDown()
    }

    func server() throws -> OpenBao {
        switch Self.bao {
        case .success(let bao): return bao
        case .failure(let error):
            if isCI { throw error }
            throw XCTSkip("\(error)")
        case nil: throw XCTSkip("no server")
        }
    }

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
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("VAULT_") { environment[key] = nil }
        environment["VAULT_TOKEN"] = "root"
        func run(_ arguments: [String]) throws -> ProcessResult {
            let result = try runProcess(
                productsDirectory.appendingPathComponent("inject-secrets").path, arguments, environment: environment,
                currentDirectory: directory, timeout: 300)
            XCTAssertEqual(old.leaks(in: ["stdout": result.stdout, "stderr": result.stderr]), [])
            XCTAssertEqual(new.leaks(in: ["stdout": result.stdout, "stderr": result.stderr]), [])
            return result
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
