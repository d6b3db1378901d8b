import Foundation
import XCTest
import TestSupport

/// validate, render and drift through the built `inject-secrets` executable against moto_server (SigV4
/// and IAM enforced), for both AWS stores.
final class AWSEndToEndTests: MotoTestCase {
    func canary(_ label: String) -> String {
        let canary = Canary(label)
        canaries.append(canary)
        return canary.value
    }

    var output: URL { directory.appendingPathComponent(".build/inject-secrets/checkout.env") }
    var lock: URL { directory.appendingPathComponent("inject-secrets.lock") }

    /// A project reading `db` from Secrets Manager (current), `legacy` (stage AWSPREVIOUS) and `token`
    /// from Parameter Store.
    func project(endpoint: String? = nil, region: String = "region: us-east-1, ", legacy: Bool = false) throws {
        let endpoint = endpoint ?? moto.proxy.baseURL
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  aws: { type: aws-secrets-manager, \(region)endpoint: '\(endpoint)' }
                  ssm: { type: aws-ssm, region: us-east-1, endpoint: '\(moto.proxy.baseURL)' }
                secrets:
                  db: { provider: aws, id: e2e-\(run)/db }
                  token: { provider: ssm, id: /e2e-\(run)/token }
                \(legacy ? "  legacy: { provider: aws, id: e2e-\(run)/db, version: 'stage:AWSPREVIOUS' }" : "")
                functions:
                  checkout:
                    env:
                      DB_PASSWORD: ${secrets.db.password}
                      API_TOKEN: ${secrets.token}
                \(legacy ? "      OLD_PASSWORD: ${secrets.legacy.password}" : "")
                    outputs: [{ format: dotenv }]
                """
        ], in: directory)
    }

    /// Runs the executable with only the given AWS variables; no canary and no credential may leak.
    @discardableResult
    func runTool(_ arguments: [String], identity: TestIdentity?, extra: [String: String] = [:],
                 file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let environment = (identity?.environment(region: nil) ?? [:]).merging(extra) { $1 }
        return try TestSupport.runTool(
            arguments, in: directory, environment: environment, canaries: watched,
            valuesOnlyIn: [".build/inject-secrets/", "new-password"],
            file: file, line: line)
    }

    func seed() async throws -> (dbVersion: String, dbARN: String, password: String, token: String) {
        let password = canary("pw")
        let created = try await moto.seed("secretsmanager", "CreateSecret", [
            "Name": .string("e2e-\(run)/db"), "SecretString": .string(#"{"password":"\#(password)"}"#),
        ])
        let token = canary("token")
        try await moto.seed("ssm", "PutParameter", [
            "Name": .string("/e2e-\(run)/token"), "Value": .string(token), "Type": "SecureString",
        ])
        return (created["VersionId"]!.string!, created["ARN"]!.string!, password, token)
    }

    func rotate() async throws -> (version: String, password: String) {
        let password = canary("rotated")
        let answer = try await moto.seed("secretsmanager", "PutSecretValue", [
            "SecretId": .string("e2e-\(run)/db"), "SecretString": .string(#"{"password":"\#(password)"}"#),
            "ClientRequestToken": .string(UUID().uuidString),
        ])
        return (answer["VersionId"]!.string!, password)
    }

    func testRenderDriftAfterPutSecretValueAndAFailedRenderChangesNothing() async throws {
        let seeded = try await seed()
        try project()
        let render = try runTool(["render"], identity: moto.identities.session)
        XCTAssertEqual(render.status, 0, render.stderr)
        let rendered = try String(contentsOf: output, encoding: .utf8)
        XCTAssertTrue(rendered.contains(seeded.password))
        XCTAssertTrue(rendered.contains(seeded.token))
        let lockText = try String(contentsOf: lock, encoding: .utf8)
        XCTAssertTrue(lockText.contains(seeded.dbVersion), lockText)
        XCTAssertTrue(lockText.contains(seeded.dbARN), lockText)

        var drift = try runTool(["drift"], identity: moto.identities.metadata)
        XCTAssertEqual(drift.status, 0, drift.stdout + drift.stderr)

        let rotated = try await rotate()
        drift = try runTool(["drift", "--format", "json"], identity: moto.identities.metadata)
        XCTAssertEqual(drift.status, 1, drift.stdout + drift.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(drift.stdout.utf8)) as? [String: Any]
        let entries = report?["drift"] as? [[String: Any]] ?? []
        let entry = entries.first { $0["kind"] as? String == "rotated" }
        XCTAssertEqual(entry?["secret"] as? String, "db", drift.stdout)
        XCTAssertEqual(entry?["locked"] as? String, seeded.dbVersion)
        XCTAssertEqual(entry?["current"] as? String, rotated.version)
        XCTAssertEqual(entry?["functions"] as? [String], ["checkout"])

        // A render with a wrong key fails as a store failure and leaves outputs and lock as they were.
        let outputBefore = try Data(contentsOf: output)
        let lockBefore = try Data(contentsOf: lock)
        let wrongKey = "wrong-" + String(moto.identities.admin.SecretAccessKey.dropFirst(6))
        let failed = try runTool(
            ["render"], identity: moto.identities.admin, extra: ["AWS_SECRET_ACCESS_KEY": wrongKey])
        XCTAssertEqual(failed.status, 3, failed.stderr)
        XCTAssertTrue(failed.stderr.lowercased().contains("signature"), failed.stderr)
        XCTAssertTrue(failed.stderr.contains("db"), failed.stderr)
        XCTAssertFalse(failed.stderr.contains(wrongKey))
        XCTAssertEqual(try Data(contentsOf: output), outputBefore, "output untouched")
        XCTAssertEqual(try Data(contentsOf: lock), lockBefore, "lock untouched")

        // The metadata-only identity may not render.
        let denied = try runTool(["render"], identity: moto.identities.metadata)
        XCTAssertEqual(denied.status, 3, denied.stderr)
        XCTAssertTrue(denied.stderr.contains("AccessDenied"), denied.stderr)
        XCTAssertEqual(try Data(contentsOf: lock), lockBefore, "lock untouched")

        // A new render picks up the rotation, and drift is clean again.
        XCTAssertEqual(try runTool(["render"], identity: moto.identities.session).status, 0)
        XCTAssertTrue(try String(contentsOf: output, encoding: .utf8).contains(rotated.password))
        XCTAssertEqual(try runTool(["drift"], identity: moto.identities.metadata).status, 0)
    }

    func testDriftReportsUnlabeledThenGoneVersions() async throws {
        let seeded = try await seed()
        try project()
        XCTAssertEqual(try runTool(["render"], identity: moto.identities.session).status, 0)
        _ = try await rotate()
        let latest = try await rotate()
        var drift = try runTool(["drift", "--format", "json"], identity: moto.identities.metadata)
        XCTAssertEqual(drift.status, 1, drift.stdout + drift.stderr)
        var kinds = try driftKinds(drift.stdout)
        XCTAssertEqual(kinds["rotated"], latest.version, drift.stdout)
        XCTAssertNotNil(kinds["version-unlabeled"], "the locked version lost AWSPREVIOUS: \(drift.stdout)")

        try await moto.seed("secretsmanager", "DeleteSecret", ["SecretId": .string("e2e-\(run)/db"), "RecoveryWindowInDays": 7])
        drift = try runTool(["drift", "--format", "json"], identity: moto.identities.metadata)
        XCTAssertEqual(drift.status, 1, drift.stdout + drift.stderr)
        kinds = try driftKinds(drift.stdout)
        XCTAssertNotNil(kinds["version-gone"], drift.stdout)
        XCTAssertTrue(drift.stdout.contains("scheduled for deletion"), drift.stdout)
        XCTAssertTrue(drift.stdout.contains(seeded.dbVersion), drift.stdout)
    }

    /// Drift starts its listing as soon as the manifest has passed its checks, and not before: a secret
    /// id naming an unset variable is bad input, and no store is asked about the other, locked secret.
    func testDriftOfAManifestThatFailsItsChecksCallsNoStore() async throws {
        _ = try await seed()
        try project()
        XCTAssertEqual(try runTool(["render"], identity: moto.identities.session).status, 0)
        let manifest = directory.appendingPathComponent("inject-secrets.yaml")
        let text = try String(contentsOf: manifest, encoding: .utf8).replacingOccurrences(
            of: "id: /e2e-\(run)/token", with: "id: '/e2e-\(run)/${env.INJECT_SECRETS_TEST_UNSET}'")
        try text.write(to: manifest, atomically: true, encoding: .utf8)
        try moto.resetProxy()
        let drift = try runTool(["drift"], identity: moto.identities.metadata)
        XCTAssertEqual(drift.status, 2, drift.stderr)
        XCTAssertTrue(drift.stderr.contains("environment variable INJECT_SECRETS_TEST_UNSET is not set"), drift.stderr)
        XCTAssertEqual(try moto.received(), [:])
    }

    /// kind -> current version (or "") of each drift entry about a secret.
    func driftKinds(_ json: String) throws -> [String: String] {
        let report = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        var kinds: [String: String] = [:]
        for entry in report?["drift"] as? [[String: Any]] ?? [] where entry["secret"] as? String == "db" {
            kinds[entry["kind"] as? String ?? "?"] = entry["current"] as? String ?? ""
        }
        return kinds
    }

    func testStagePolicyRendersThePreviousVersion() async throws {
        let seeded = try await seed()
        let rotated = try await rotate()
        try project(legacy: true)
        let render = try runTool(["render"], identity: moto.identities.session)
        XCTAssertEqual(render.status, 0, render.stderr)
        let rendered = try String(contentsOf: output, encoding: .utf8)
        XCTAssertTrue(rendered.contains("OLD_PASSWORD=") && rendered.contains(seeded.password), "stage:AWSPREVIOUS")
        XCTAssertTrue(rendered.contains(rotated.password))
        XCTAssertEqual(try runTool(["drift"], identity: moto.identities.metadata).status, 0)
    }

    func testWrongKeyOnAFreshProjectExitsThreeAndWritesNothing() async throws {
        _ = try await seed()
        try project()
        let result = try runTool(
            ["render"], identity: moto.identities.admin,
            extra: ["AWS_SECRET_ACCESS_KEY": "not-the-key-\(UUID().uuidString)"])
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertTrue(result.stderr.lowercased().contains("signature"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "nothing written")
        XCTAssertFalse(FileManager.default.fileExists(atPath: lock.path), "no lock written")
    }

    func testConfigurationErrorsAreBadInputAtTheProvider() throws {
        try project(endpoint: "http://secretsmanager.example.com")
        var result = try runTool(["validate"], identity: moto.identities.session)
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("HTTPS is required"), result.stderr)
        XCTAssertTrue(result.stderr.contains("inject-secrets.yaml:3:"), result.stderr)

        try project(region: "")
        result = try runTool(["render"], identity: moto.identities.session)
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("needs a region"), result.stderr)
        XCTAssertTrue(result.stderr.contains("inject-secrets.yaml:3:"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: lock.path))

        // AWS_REGION supplies it.
        result = try runTool(["validate"], identity: moto.identities.session, extra: ["AWS_REGION": "us-east-1"])
        XCTAssertEqual(result.status, 0, result.stderr)
    }
}
