import Foundation
import TestSupport
import XCTest

/// Rotation age (`attributes.created` in the versions listing) and expiry (`attributes.exp`) on the Key
/// Vault stand-in, through the executable.
final class AzureRotationTests: KeyVaultTestCase {
    static func epoch(days: Double) -> Int { Int(Date().timeIntervalSince1970 + days * 86_400) }

    /// Adds a version created `created` days from now (negative: ago), expiring at `exp` days if given.
    func seed(_ name: String, created: Double, exp: Double? = nil) async throws -> String {
        let value = canary(name)
        var body: [String: Any] = ["name": name, "value": value.value, "created": Self.epoch(days: created)]
        if let exp { body["exp"] = Self.epoch(days: exp) }
        return try await fake.control("secret", body)["version"] as! String
    }

    /// Secrets `a`, `b`, ... as declared in `secrets` (one per line), all read by function `checkout`.
    func project(_ secrets: [String]) throws {
        let names = secrets.indices.map { String(UnicodeScalar(UInt8(97 + $0))) }
        let declared = zip(names, secrets).map { "  \($0): { provider: azure, \($1) }" }.joined(separator: "\n")
        let env = names.map { "\($0.uppercased()): \"${secrets.\($0)}\"" }.joined(separator: ", ")
        try writeFiles(["inject-secrets.yaml": """
            version: 1
            providers:
              azure: { type: azure-key-vault, vault-url: "\(fake.baseURL)" }
            defaults:
              rotation: { every: 30d, warn: 14d }
            secrets:
            \(declared)
            functions:
              checkout:
                env: { \(env) }
            """], in: directory)
    }

    /// Runs the executable (see `KeyVaultTestCase.run`) with its JSON report, empty when stdout holds none.
    func runJSON(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (ProcessResult, [String: Any]) {
        let result = try run(arguments, file: file, line: line)
        let document = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
        return (result, document)
    }

    func testCreatedAgainstEveryWarnAndAPinnedVersion() async throws {
        let old = try await seed("db", created: -100)
        _ = try await seed("db", created: -40)
        _ = try await seed("token", created: -20)
        try project(["id: db", "id: db, version: \"\(old)\", rotation: { every: 120d }", "id: token"])
        XCTAssertEqual(try run(["render"]).status, 0)
        let (result, document) = try runJSON(["drift", "--format", "json"])
        XCTAssertEqual(result.status, 1, result.stderr)
        let entries = document["drift"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.count, 1, result.stdout)
        XCTAssertEqual(entries.first?["kind"] as? String, "rotation-overdue")
        XCTAssertEqual(entries.first?["secret"] as? String, "a")
        XCTAssertEqual(entries.first?["age"] as? Int, 40)
        XCTAssertEqual(entries.first?["limit"] as? String, "30d")
        let notes = document["notes"] as? [String] ?? []
        XCTAssertTrue(notes.contains { $0.hasPrefix("c (token) version ") && $0.contains("is 20 days old; its rotation limit of 30d comes in 10 days") }, "\(notes)")
        XCTAssertFalse(notes.contains { $0.hasPrefix("b (db)") }, "the pinned version is 100 days old, inside its 120d: \(notes)")
    }

    func testExpOfTheLockedVersion() async throws {
        let db = try await seed("db", created: -1, exp: 5)
        _ = try await seed("token", created: -1, exp: 60)
        _ = try await seed("plain", created: -1)
        try project(["id: db", "id: token", "id: plain, rotation: none"])
        XCTAssertEqual(try run(["render"]).status, 0)
        var (result, document) = try runJSON(["drift", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let notes = document["notes"] as? [String] ?? []
        XCTAssertEqual(notes.filter { $0.contains("expires on") }.count, 1, result.stdout)
        XCTAssertTrue(notes.contains { $0.hasPrefix("a (db): locked version \(db) expires on ") && $0.hasSuffix("within warn (14d)") }, result.stdout)

        // Its exp moved into the past since the render (Key Vault still serves it): the lock holds an
        // expired version.
        try await fake.control("expire", ["name": "db", "version": db, "exp": Self.epoch(days: -2)])
        (result, document) = try runJSON(["drift", "--format", "json"])
        XCTAssertEqual(result.status, 1, result.stderr)
        let entries = document["drift"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.map { "\($0["secret"] ?? ""):\($0["kind"] ?? "")" }, ["a:version-expired"], result.stdout)
        XCTAssertEqual(entries.first?["locked"] as? String, db)
        XCTAssertTrue((entries.first?["message"] as? String)?.contains("expired on") == true, result.stdout)
    }
}
