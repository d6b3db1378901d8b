import Foundation
import XCTest
import TestSupport

/// `rotate` against moto: PutSecretValue makes a new AWSCURRENT version, PutParameter a new parameter
/// version of the same type; drift then names the stale function.
extension AWSEndToEndTests {
    func testRotateWritesNewVersionsToSecretsManagerAndParameterStore() async throws {
        let seeded = try await seed()
        try project()
        let admin = moto.identities.admin
        XCTAssertEqual(try runTool(["render"], identity: admin).status, 0)

        let newPassword = canary("rotate-sm")
        try writeFiles(["new-password": newPassword + "\n"], in: directory)
        let rotate = try runTool(["rotate", "db", "--key", "password", "--value-from-file", "new-password", "--format", "json"], identity: admin)
        XCTAssertEqual(rotate.status, 0, rotate.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(rotate.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["previous"] as? String, seeded.dbVersion)
        let newVersion = try XCTUnwrap(report["version"] as? String)
        XCTAssertNotEqual(newVersion, seeded.dbVersion)
        XCTAssertEqual(report["stale"] as? [String], ["checkout"])

        // AWSCURRENT moved to the new version, which holds the new password.
        let current = try await moto.seed("secretsmanager", "GetSecretValue", ["SecretId": .string("e2e-\(run)/db")])
        XCTAssertEqual(current["VersionId"]?.string, newVersion)
        XCTAssertEqual(current["SecretString"]?.string, #"{"password":"\#(newPassword)"}"#)

        let generated = try runTool(["rotate", "token", "--generate", "32"], identity: admin)
        XCTAssertEqual(generated.status, 0, generated.stderr)
        XCTAssertTrue(generated.stdout.contains("version 1 -> 2"), generated.stdout)
        let parameter = try await moto.seed("ssm", "GetParameter", ["Name": .string("/e2e-\(run)/token"), "WithDecryption": true])
        XCTAssertEqual(parameter["Parameter"]?["Type"]?.string, "SecureString")
        XCTAssertEqual(parameter["Parameter"]?["Value"]?.string?.count, 32)

        let drift = try runTool(["drift", "--format", "json"], identity: admin)
        XCTAssertEqual(drift.status, 1)
        XCTAssertEqual(drift.stdout.components(separatedBy: "\"rotated\"").count - 1, 2, drift.stdout)
        XCTAssertEqual(try runTool(["render"], identity: admin).status, 0)
        XCTAssertEqual(try runTool(["drift"], identity: admin).status, 0)
    }
}
