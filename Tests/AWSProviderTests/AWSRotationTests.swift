import Foundation
import XCTest
@testable import InjectSecretsCore
import TestSupport

/// A moto_server whose clock the test sets through libfaketime (a timestamp file read on every clock
/// call), so that versions carry the dates a rotation policy judges. Auth is not enforced: these tests
/// are about dates, the IAM tests run on `MotoFixture`.
final class DatedMoto {
    let moto: LoopbackServer
    let clock: URL

    /// Starts moto under libfaketime, or returns nil (loudly; a failure under CI=true) when either is missing.
    static func start() throws -> DatedMoto? {
        guard which("moto_server") != nil, FakeTime.library != nil else {
            _ = try missingServer("moto_server and libfaketime", install: "pip install 'moto[server]'; apt-get install faketime")
            return nil
        }
        return try DatedMoto()
    }

    private init() throws {
        clock = FileManager.default.temporaryDirectory.appendingPathComponent("moto-clock-\(UUID().uuidString)")
        try Data("+0d\n".utf8).write(to: clock)
        let port = try freePort()
        moto = try LoopbackServer(
            executable: "moto_server", arguments: ["-H", "127.0.0.1", "-p", String(port)], port: port,
            environment: try FakeTime.environment(timestampFile: clock.path), startupTimeout: 120)
    }

    /// Moves moto's clock: `days` before (negative) or after now.
    func setClock(days: Int) throws {
        try Data("\(days >= 0 ? "+" : "")\(days)d\n".utf8).write(to: clock)
    }

    func stop() {
        moto.stop()
        try? FileManager.default.removeItem(at: clock)
    }

    /// Runs the executable in `directory` against this moto with `extra` variables, through the shared
    /// `runTool`: no watched value (canaries, values a store or generator made) may reach a place but the
    /// rendered outputs.
    func runTool(
        _ arguments: [String], in directory: URL, watching values: [String], extra: [String: String] = [:],
        file: StaticString, line: UInt
    ) throws -> ProcessResult {
        try TestSupport.runTool(
            arguments, in: directory, environment: Self.identity.environment().merging(extra) { $1 }, canaries: values,
            valuesOnlyIn: [".build/inject-secrets/"], file: file, line: line)
    }

    static let identity = TestIdentity(AccessKeyId: "AKIDROTATIONTEST", SecretAccessKey: "rotation-test-secret-key", SessionToken: nil)

    @discardableResult
    func call(_ service: String, _ operation: String, _ input: JSON) async throws -> JSON {
        let (signing, prefix) = service == "ssm" ? ("ssm", "AmazonSSM") : ("secretsmanager", "secretsmanager")
        let client = AWSJSONClient(
            serviceName: "seed \(service)", signingName: signing, targetPrefix: prefix,
            endpoint: URL(string: moto.baseURL + "/")!, region: "us-east-1",
            credentials: StaticCredentials(value: Self.identity.credentials), retry: RetryPolicy(maxAttempts: 1))
        return try await client.call(operation, input, as: JSON.self)
    }
}

/// Rotation age on Secrets Manager (ListSecretVersionIds `CreatedDate`) and Parameter Store
/// (`LastModifiedDate` of each version) through the executable.
final class AWSRotationTests: XCTestCase {
    nonisolated(unsafe) static var server: DatedMoto?
    nonisolated(unsafe) static var skipReason: String?

    override class func setUp() {
        super.setUp()
        do {
            server = try DatedMoto.start()
            if server == nil { skipReason = "moto_server or libfaketime is not installed" }
        } catch {
            skipReason = "dated moto failed: \(error)"
        }
    }

    override class func tearDown() {
        server?.stop()
        server = nil
        super.tearDown()
    }

    var moto: DatedMoto!
    var directory: URL!
    var canaries: [Canary] = []
    let run = UUID().uuidString.prefix(8).lowercased()

    override func setUpWithError() throws {
        if let reason = Self.skipReason {
            if isCI { throw TestSupportError(reason) }
            throw XCTSkip(reason)
        }
        moto = Self.server
        try moto.setClock(days: 0)
        directory = try makeTemporaryDirectory("aws-rotation")
    }

    override func tearDownWithError() throws {
        try moto?.setClock(days: 0)
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func canary(_ label: String) -> String {
        let canary = Canary(label)
        canaries.append(canary)
        return canary.value
    }

    @discardableResult
    func runTool(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try moto.runTool(arguments, in: directory, watching: canaries.map(\.value), file: file, line: line)
    }

    func manifest(_ secrets: String) throws {
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  sm: { type: aws-secrets-manager, region: us-east-1, endpoint: '\(moto.moto.baseURL)' }
                  ssm: { type: aws-ssm, region: us-east-1, endpoint: '\(moto.moto.baseURL)' }
                secrets:
                \(secrets)
                functions:
                  checkout:
                    env: { A: "${secrets.a}", B: "${secrets.b}" }
                """,
        ], in: directory)
    }

    func drift() throws -> (ProcessResult, [[String: Any]]) {
        let result = try runTool(["drift", "--format", "json"])
        let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (result, document?["drift"] as? [[String: Any]] ?? [])
    }

    func notes(_ result: ProcessResult) throws -> [String] {
        let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return document?["notes"] as? [String] ?? []
    }

    /// moto dates each version in ListSecretVersionIds with its clock at the time of the listing, not the
    /// version's creation; turning moto's clock back during drift is how the version gets its age here.
    func testSecretsManagerOverdueAndWithinWarn() async throws {
        try await moto.call("secretsmanager", "CreateSecret", ["Name": .string("rot-\(run)/a"), "SecretString": .string(canary("sm-a"))])
        try await moto.call("secretsmanager", "CreateSecret", ["Name": .string("rot-\(run)/b"), "SecretString": .string(canary("sm-b"))])
        try manifest("""
              a: { provider: sm, id: rot-\(run)/a, rotation: { every: 30d, warn: 14d } }
              b: { provider: sm, id: rot-\(run)/b }
            """)
        XCTAssertEqual(try runTool(["render"]).status, 0)
        var (result, entries) = try drift()
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)

        try moto.setClock(days: -45)
        (result, entries) = try drift()
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertEqual(entries.count, 1, result.stdout)
        XCTAssertEqual(entries.first?["kind"] as? String, "rotation-overdue")
        XCTAssertEqual(entries.first?["secret"] as? String, "a")
        XCTAssertEqual(entries.first?["age"] as? Int, 45)
        XCTAssertEqual(entries.first?["limit"] as? String, "30d")
        XCTAssertEqual(entries.first?["functions"] as? [String], ["checkout"])

        try moto.setClock(days: -20)
        (result, entries) = try drift()
        XCTAssertEqual(result.status, 0, result.stdout)
        XCTAssertTrue(try notes(result).contains { $0.hasPrefix("a (rot-\(run)/a) version ") && $0.contains("is 20 days old; its rotation limit of 30d comes in 10 days") }, result.stdout)
    }

    /// Parameter Store keeps each version's LastModifiedDate from when it was written: versions written
    /// with moto's clock turned back are that old, and a pinned version is judged by its own.
    func testParameterStoreOverduePinnedAndFresh() async throws {
        let name = "/rot-\(run)/p"
        try moto.setClock(days: -200)
        try await moto.call("ssm", "PutParameter", ["Name": .string(name), "Value": .string(canary("ssm-1")), "Type": "SecureString"])
        try moto.setClock(days: -10)
        try await moto.call("ssm", "PutParameter", ["Name": .string(name), "Value": .string(canary("ssm-2")), "Type": "SecureString", "Overwrite": true])
        try moto.setClock(days: 0)
        try manifest("""
              a: { provider: ssm, id: "\(name)", rotation: { every: 30d } }
              b: { provider: ssm, id: "\(name)", version: "1", rotation: { every: 90d } }
            """)
        XCTAssertEqual(try runTool(["render"]).status, 0)
        let (result, entries) = try drift()
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertEqual(entries.map { $0["secret"] as? String }, ["b"], result.stdout)
        XCTAssertEqual(entries.first?["kind"] as? String, "rotation-overdue")
        XCTAssertEqual(entries.first?["current"] as? String, "1")
        XCTAssertEqual(entries.first?["age"] as? Int, 200)
        XCTAssertEqual(entries.first?["limit"] as? String, "90d")
        XCTAssertFalse(try notes(result).contains { $0.contains("no creation date") }, "DescribeParameters dates the current version: \(result.stdout)")
    }
}

/// `rotate --due` and `rotate NAME` on moto: a generator, `RotateSecret` for a secret with rotation
/// configured (RotationEnabled), nothing due, and a due secret with no way to get a value.
final class AWSDueRotationTests: XCTestCase {
    var moto: DatedMoto!
    var directory: URL!
    var canaries: [Canary] = []
    /// Values the store or the generator made, watched like canaries.
    var watched: [String] = []
    let run = UUID().uuidString.prefix(8).lowercased()

    override func setUpWithError() throws {
        guard let server = try DatedMoto.start() else { throw XCTSkip("moto_server or libfaketime is not installed") }
        moto = server
        directory = try makeTemporaryDirectory("aws-due")
    }

    override func tearDown() {
        moto?.stop()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func canary(_ label: String) -> String {
        let canary = Canary(label)
        canaries.append(canary)
        return canary.value
    }

    var auditLog: URL { directory.appendingPathComponent("audit.jsonl") }

    /// Runs the executable with an audit log, watching the canaries and the values made during the test.
    @discardableResult
    func runTool(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try moto.runTool(
            arguments, in: directory, watching: canaries.map(\.value) + watched,
            extra: ["INJECT_SECRETS_AUDIT_LOG": auditLog.path], file: file, line: line)
    }

    /// The AWSCURRENT version from the metadata. moto's RotateSecret, running no rotation function, moves
    /// AWSCURRENT to a version without a value, so the rotated secret is checked here, not read.
    func currentVersion(_ id: String) async throws -> String {
        let answer = try await moto.call("secretsmanager", "DescribeSecret", ["SecretId": .string(id)])
        guard case .object(let members) = answer, case .object(let stages)? = members["VersionIdsToStages"] else {
            throw TestSupportError("no versions for \(id)")
        }
        let holders = stages.filter { if case .array(let labels) = $0.value { return labels.contains(.string("AWSCURRENT")) } else { return false } }
        guard let current = holders.keys.first else { throw TestSupportError("no AWSCURRENT for \(id)") }
        return current
    }

    func current(_ id: String) async throws -> (version: String, value: String) {
        let answer = try await moto.call("secretsmanager", "GetSecretValue", ["SecretId": .string(id)])
        guard case .object(let members) = answer, case .string(let version)? = members["VersionId"],
            case .string(let value)? = members["SecretString"]
        else { throw TestSupportError("no current value for \(id)") }
        return (version, value)
    }

    /// `gen` has a generator, `self` has store-side rotation configured (RotateSecret with rotation
    /// rules sets RotationEnabled), `stuck` has neither. moto dates listed versions with its clock, so
    /// the clock is turned back 40 days while `rotate --due` asks which secrets are due.
    func testRotateDueWithAGeneratorRotateSecretAndNoWay() async throws {
        for name in ["gen", "self", "stuck"] {
            try await moto.call("secretsmanager", "CreateSecret", ["Name": .string("due-\(run)/\(name)"), "SecretString": .string(canary(name))])
        }
        // Rotation configured (RotationEnabled). Not immediately: moto then keeps the value in the version
        // it makes, where it runs no rotation function (that would need Docker).
        try await moto.call("secretsmanager", "RotateSecret", [
            "SecretId": .string("due-\(run)/self"), "RotationRules": ["AutomaticallyAfterDays": 30], "RotateImmediately": false,
        ])
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  sm: { type: aws-secrets-manager, region: us-east-1, endpoint: '\(moto.moto.baseURL)' }
                defaults:
                  rotation: { every: 30d }
                secrets:
                  gen: { provider: sm, id: due-\(run)/gen, rotation: { generate: { length: 40 } } }
                  self: { provider: sm, id: due-\(run)/self }
                  stuck: { provider: sm, id: due-\(run)/stuck }
                functions:
                  checkout: { env: { A: "${secrets.gen}", B: "${secrets.self}" } }
                  worker: { env: { C: "${secrets.stuck}" } }
                """,
        ], in: directory)
        XCTAssertEqual(try runTool(["render"]).status, 0)
        var nothing = try runTool(["rotate", "--due"])
        XCTAssertEqual(nothing.status, 0, nothing.stderr)
        XCTAssertTrue(nothing.stdout.contains("nothing is due"), nothing.stdout)

        let before = (gen: try await current("due-\(run)/gen"), store: try await currentVersion("due-\(run)/self"))
        try moto.setClock(days: -40)
        let dry = try runTool(["rotate", "--due", "--dry-run"])
        XCTAssertEqual(dry.status, 1, "stuck cannot be rotated: \(dry.stdout) \(dry.stderr)")
        XCTAssertTrue(dry.stdout.contains("would rotate gen (due-\(run)/gen) (40 days old, limit 30d) in provider 'sm' by generate 40 characters"), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("would rotate self (due-\(run)/self) (40 days old, limit 30d) in provider 'sm' by the store's own rotation (RotateSecret)"), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("cannot rotate stuck (due-\(run)/stuck) (40 days old, limit 30d): the manifest gives it no 'rotation.generate', and provider 'sm' has no rotation configured for it (RotationEnabled is false); functions: worker"), dry.stdout)
        let unchanged = try await current("due-\(run)/gen")
        XCTAssertEqual(unchanged.version, before.gen.version, "--dry-run writes nothing")

        let due = try runTool(["rotate", "--due", "--format", "json"])
        try moto.setClock(days: 0)
        XCTAssertEqual(due.status, 1, due.stderr)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(due.stdout.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(document["rotations"] as? [[String: Any]])
        XCTAssertEqual(rows.map { "\($0["secret"]!):\($0["outcome"]!)" }, ["gen:rotated", "self:rotated", "stuck:cannot-rotate"])
        XCTAssertEqual(rows[0]["stale"] as? [String], ["checkout"])
        XCTAssertEqual(rows[0]["age"] as? Int, 40)
        let after = (gen: try await current("due-\(run)/gen"), store: try await currentVersion("due-\(run)/self"))
        watched.append(after.gen.value)
        XCTAssertNotEqual(after.gen.version, before.gen.version)
        XCTAssertEqual(after.gen.value.count, 40)
        XCTAssertEqual(rows[0]["version"] as? String, after.gen.version)
        XCTAssertNotEqual(after.store, before.store, "RotateSecret moved AWSCURRENT")
        XCTAssertEqual(rows[1]["version"] as? String, after.store)
        XCTAssertEqual(rows[1]["previous"] as? String, before.store)

        let records = try String(contentsOf: auditLog, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["operation"] as? String == "rotate" }
        XCTAssertEqual(records.map { "\($0["secret"]!):\($0["version"]!)" }.sorted(), ["gen:\(after.gen.version)", "self:\(after.store)"])

        // Plain rotate NAME with no value: RotateSecret again, as the store rotates the secret itself.
        let plain = try runTool(["rotate", "self"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("rotated self (due-\(run)/self) in provider 'sm' by the store's own rotation: version \(after.store) -> "), plain.stdout)
        XCTAssertTrue(plain.stdout.contains("stale functions: checkout"), plain.stdout)
        let refused = try runTool(["rotate", "stuck"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("no rotation configured for it (RotationEnabled is false)"), refused.stderr)
        try moto.setClock(days: -40)
        nothing = try runTool(["rotate", "--due"])
        try moto.setClock(days: 0)
        XCTAssertEqual(nothing.status, 1, "stuck is still due and still has no way")
    }
}
