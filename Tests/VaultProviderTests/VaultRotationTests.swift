import Foundation
import XCTest
import TestSupport

/// Rotation age (`versions[n].created_time`) and expiry (`delete_version_after`, a version's scheduled
/// `deletion_time`) on a real OpenBao, through the executable. OpenBao's clock cannot be moved (Go reads
/// the time without libc), so the tool's is: run under libfaketime N days ahead, a version written now
/// is N days old to it.
final class VaultRotationTests: XCTestCase {
    // Written only by the class setUp and tearDown, which XCTest runs before and after the tests, never beside them.
    nonisolated(unsafe) static var bao: Result<OpenBao, Error>?

    override class func setUp() {
        super.setUp()
        bao = OpenBao.start()
    }

    override class func tearDown() {
        if case .success(let bao) = bao { bao.stop() }
        super.tearDown()
    }

    var directory: URL!
    var canaries: [Canary] = []
    let suffix = UUID().uuidString.prefix(8)

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
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

    func canary(_ label: String) -> String {
        let canary = Canary(label)
        canaries.append(canary)
        return canary.value
    }

    func project(_ bao: OpenBao) throws {
        directory = try makeTemporaryDirectory("vault-rotation")
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  vault: { type: vault, address: '\(bao.address)', mount: secret }
                defaults:
                  rotation: { every: 30d, warn: 14d }
                secrets:
                  db: { provider: vault, id: rot-\(suffix)/db }
                  token: { provider: vault, id: rot-\(suffix)/token }
                functions:
                  checkout:
                    env: { DB: "${secrets.db.password}", TOKEN: "${secrets.token.value}" }
                """,
        ], in: directory)
    }

    /// Runs the executable with its clock `days` ahead; no canary may reach stdout, stderr, the lock or the
    /// render record.
    func run(_ arguments: [String], days: Int = 0, file: StaticString = #filePath, line: UInt = #line) throws -> (ProcessResult, [String: Any]) {
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("VAULT_") { env[key] = nil }
        env["HOME"] = directory.path
        env["VAULT_TOKEN"] = "root"
        env.merge(FakeTime.wallClockOnly) { $1 }
        let (executable, all) = try FakeTime.command(productsDirectory.appendingPathComponent("inject-secrets").path, arguments, days: days)
        let result = try runProcess(executable, all, environment: env, currentDirectory: directory, timeout: 300)
        var places = ["stdout": result.stdout, "stderr": result.stderr]
        for (path, text) in filesBelow(directory) where !path.hasSuffix(".env") { places[path] = text }
        for canary in canaries {
            XCTAssertEqual(canary.leaks(in: places), [], "a canary leaked", file: file, line: line)
        }
        let document = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
        return (result, document)
    }

    func testCreatedTimeAgainstEveryAndWarn() async throws {
        let bao = try server()
        try await bao.put("rot-\(suffix)/db", ["password": canary("db")])
        try await bao.put("rot-\(suffix)/token", ["value": canary("token")])
        try project(bao)
        XCTAssertEqual(try run(["render"]).0.status, 0)

        var (result, document) = try run(["drift", "--format", "json"], days: 20)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let notes = document["notes"] as? [String] ?? []
        XCTAssertTrue(notes.contains { $0.hasPrefix("db (rot-\(suffix)/db) version 1 is 20 days old; its rotation limit of 30d comes in 10 days") }, "\(notes)")

        (result, document) = try run(["drift", "--format", "json"], days: 45)
        XCTAssertEqual(result.status, 1, result.stderr)
        let entries = document["drift"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.compactMap { $0["kind"] as? String }, ["rotation-overdue", "rotation-overdue"], result.stdout)
        XCTAssertEqual(entries.first?["secret"] as? String, "db")
        XCTAssertEqual(entries.first?["age"] as? Int, 45)
        XCTAssertEqual(entries.first?["limit"] as? String, "30d")
    }

    /// `delete_version_after` schedules each new version's deletion: within `warn` of it a note, past it
    /// `version-expired` rather than `version-gone`, while a version deleted by hand stays gone.
    func testDeleteVersionAfterIsTheVersionsExpiry() async throws {
        let bao = try server()
        let (status, _) = try await bao.api("POST", "secret/metadata/rot-\(suffix)/db", json: ["delete_version_after": "240h"])
        XCTAssertEqual(status, 204)
        try await bao.put("rot-\(suffix)/db", ["password": canary("db")])
        try await bao.put("rot-\(suffix)/token", ["value": canary("token")])
        try project(bao)
        XCTAssertEqual(try run(["render"]).0.status, 0)

        var (result, document) = try run(["drift", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue((document["notes"] as? [String] ?? []).contains {
            $0.hasPrefix("db (rot-\(suffix)/db): locked version 1 expires on ") && $0.hasSuffix("within warn (14d)")
        }, result.stdout)

        (result, document) = try run(["drift", "--format", "json"], days: 11)
        XCTAssertEqual(result.status, 1, result.stderr)
        var entries = document["drift"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.count, 1, result.stdout)
        XCTAssertEqual(entries.first?["kind"] as? String, "version-expired")
        XCTAssertEqual(entries.first?["secret"] as? String, "db")
        XCTAssertEqual(entries.first?["functions"] as? [String], ["checkout"])

        _ = try await bao.api("POST", "secret/delete/rot-\(suffix)/token", json: ["versions": [1]])
        (result, document) = try run(["drift", "--format", "json"])
        entries = document["drift"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.compactMap { $0["kind"] as? String }, ["version-gone"], result.stdout)
    }
}
