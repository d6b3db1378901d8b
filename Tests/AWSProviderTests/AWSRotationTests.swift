import Foundation
import XCTest
import TestSupport

/// Rotation age on Secrets Manager (ListSecretVersionIds `CreatedDate`) and Parameter Store
/// (`LastModifiedDate` of each version) through the executable.
final class AWSRotationTests: PlainMotoTestCase {
    override class var dated: Bool { true }

    func manifest(_ secrets: String) throws {
        try writeFiles(["inject-secrets.yaml": awsManifest(endpoint: moto.baseURL, secrets: secrets, functions: """
              checkout:
                env: { A: "${secrets.a}", B: "${secrets.b}" }
            """)], in: directory)
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
              a: { provider: aws, id: rot-\(run)/a, rotation: { every: 30d, warn: 14d } }
              b: { provider: aws, id: rot-\(run)/b }
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
final class AWSDueRotationTests: PlainMotoTestCase {
    override class var dated: Bool { true }

    var auditLog: URL { directory.appendingPathComponent("audit.jsonl") }
    override var toolEnvironment: [String: String] { ["INJECT_SECRETS_AUDIT_LOG": auditLog.path] }

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
                  sm: { type: aws-secrets-manager, region: us-east-1, endpoint: '\(moto.baseURL)' }
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
        generated.append(after.gen.value)
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
