import Foundation
import TestSupport
import XCTest

/// Rotation age (`attributes.created` in the versions listing) and expiry (`attributes.exp`) on the Key
/// Vault stand-in, through the executable.
final class AzureRotationTests: XCTestCase {
    static let tenant = "11111111-1111-1111-1111-111111111111"
    static let clientID = "22222222-2222-2222-2222-222222222222"
    nonisolated(unsafe) static var shared: FakeKeyVault?

    var fake: FakeKeyVault!
    var directory: URL!
    let clientSecret = Canary("client-secret")
    var canaries: [Canary] = []

    override func setUp() async throws {
        guard which("python3") != nil else {
            let message = try missingServer("python3 (for the Key Vault stand-in)", install: "apt-get install python3")
            throw XCTSkip(message)
        }
        if Self.shared == nil { Self.shared = try FakeKeyVault() }
        fake = Self.shared
        try await fake.control("reset")
        try await fake.control("configure", [
            "tenant": Self.tenant,
            "clients": [Self.clientID: ["tenants": [Self.tenant], "secret": clientSecret.value]],
        ])
        directory = try makeTemporaryDirectory("azure-rotation")
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    override class func tearDown() {
        shared?.stop()
        shared = nil
    }

    static func epoch(days: Double) -> Int { Int(Date().timeIntervalSince1970 + days * 86_400) }

    /// Adds a version created `created` days from now (negative: ago), expiring at `exp` days if given.
    func seed(_ name: String, created: Double, exp: Double? = nil) async throws -> String {
        let value = Canary(name)
        canaries.append(value)
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

    /// Runs the executable; no value, client secret or token may reach stdout, stderr, the lock or the
    /// render record.
    func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (ProcessResult, [String: Any]) {
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("AZURE_") || key.hasPrefix("IDENTITY_") || key.hasPrefix("MSI_") {
            environment[key] = nil
        }
        environment["AZURE_TENANT_ID"] = Self.tenant
        environment["AZURE_CLIENT_ID"] = Self.clientID
        environment["AZURE_CLIENT_SECRET"] = clientSecret.value
        environment["AZURE_AUTHORITY_HOST"] = fake.baseURL
        let result = try runProcess(
            productsDirectory.appendingPathComponent("inject-secrets").path, arguments, environment: environment,
            currentDirectory: directory, timeout: 300)
        var places = ["stdout": result.stdout, "stderr": result.stderr]
        for (path, text) in filesBelow(directory) where !path.hasSuffix(".env") { places[path] = text }
        for canary in canaries + [clientSecret] {
            XCTAssertEqual(canary.leaks(in: places), [], "leaked \(canary.value)", file: file, line: line)
        }
        for (place, text) in places {
            XCTAssertFalse(text.contains("fake-token-"), "a token leaked into \(place)", file: file, line: line)
        }
        let document = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
        return (result, document)
    }

    func testCreatedAgainstEveryWarnAndAPinnedVersion() async throws {
        let old = try await seed("db", created: -100)
        _ = try await seed("db", created: -40)
        _ = try await seed("token", created: -20)
        try project(["id: db", "id: db, version: \"\(old)\", rotation: { every: 120d }", "id: token"])
        XCTAssertEqual(try run(["render"]).0.status, 0)
        let (result, document) = try run(["drift", "--format", "json"])
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
        XCTAssertEqual(try run(["render"]).0.status, 0)
        var (result, document) = try run(["drift", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let notes = document["notes"] as? [String] ?? []
        XCTAssertEqual(notes.filter { $0.contains("expires on") }.count, 1, result.stdout)
        XCTAssertTrue(notes.contains { $0.hasPrefix("a (db): locked version \(db) expires on ") && $0.hasSuffix("within warn (14d)") }, result.stdout)

        // Its exp moved into the past since the render (Key Vault still serves it): the lock holds an
        // expired version.
        try await fake.control("expire", ["name": "db", "version": db, "exp": Self.epoch(days: -2)])
        (result, document) = try run(["drift", "--format", "json"])
        XCTAssertEqual(result.status, 1, result.stderr)
        let entries = document["drift"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.map { "\($0["secret"] ?? ""):\($0["kind"] ?? "")" }, ["a:version-expired"], result.stdout)
        XCTAssertEqual(entries.first?["locked"] as? String, db)
        XCTAssertTrue((entries.first?["message"] as? String)?.contains("expired on") == true, result.stdout)
    }
}
