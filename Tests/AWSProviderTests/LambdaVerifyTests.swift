import Foundation
import XCTest
import TestSupport

/// `drift --deployed --verify` on moto's Lambda: after an out-of-band `update-function-configuration`
/// (a variable added, one removed, one changed) the tag-only check still agrees, while `--verify`
/// names the three variables, and no value (locked, live or changed) reaches any channel.
/// On a `PlainMoto`, as LambdaDeployTests explains.
final class LambdaVerifyTests: PlainMotoTestCase {
    func testVerifyNamesAddedRemovedAndChangedVariablesOnly() throws {
        let password = canary("verify-db"), token = canary("verify-token"), edited = canary("edited-by-hand"), added = canary("added-by-hand")
        let name = "verify-\(run)-checkout"
        try boto("""
            client("secretsmanager").create_secret(Name="verify-\(run)/db", SecretString="\(password)")
            client("ssm").put_parameter(Name="/verify-\(run)/token", Value="\(token)", Type="SecureString")
            """)
        try createFunctions([name])
        try writeFiles(["inject-secrets.yaml": awsManifest(endpoint: moto.baseURL, secrets: """
              db: { provider: aws, id: verify-\(run)/db }
              token: { provider: ssm, id: /verify-\(run)/token }
            """, functions: """
              checkout:
                env: { DB_PASSWORD: "${secrets.db}", API_TOKEN: "${secrets.token}", STAGE: prod }
                lambda: { name: \(name), region: us-east-1 }
            """)], in: directory)
        XCTAssertEqual(try runTool(["render"]).status, 0)
        XCTAssertEqual(try runTool(["deploy"]).status, 0)
        var verified = try runTool(["drift", "--deployed", "--verify"])
        XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)

        // Out of band, as the console or another tool would: one added, one removed, one changed.
        try boto("""
            client("lambda").update_function_configuration(FunctionName="\(name)",
                Environment={"Variables": {"DB_PASSWORD": "\(edited)", "STAGE": "prod", "DEBUG_TOKEN": "\(added)"}})
            """)
        let tagsOnly = try runTool(["drift", "--deployed"])
        XCTAssertEqual(tagsOnly.status, 0, "the tag still matches: the tag-only check cannot see it. \(tagsOnly.stdout)")

        let summary = directory.appendingPathComponent("summary.md")
        let junit = directory.appendingPathComponent("drift.xml")
        verified = try runTool(
            ["drift", "--deployed", "--verify", "--report", "junit", junit.path],
            extra: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary.path, "GITHUB_WORKSPACE": directory.path])
        XCTAssertEqual(verified.status, 1, verified.stderr)
        let expected = "deployed-modified: Lambda '\(name)' (us-east-1) of function 'checkout' was changed since deploy: added DEBUG_TOKEN; removed API_TOKEN; changed DB_PASSWORD; run deploy [functions: checkout]"
        XCTAssertTrue(verified.stdout.contains(expected), verified.stdout)
        XCTAssertTrue(verified.stdout.contains("title=inject-secrets%3A deployed-modified::Lambda '\(name)'"), verified.stdout)
        XCTAssertTrue(try String(contentsOf: summary, encoding: .utf8).contains("| deployed-modified |"))
        XCTAssertTrue(try String(contentsOf: junit, encoding: .utf8).contains("deployed-modified"))

        let json = try runTool(["drift", "--deployed", "--verify", "--format", "json"])
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let kinds = (document["drift"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        XCTAssertEqual(kinds, ["deployed-modified"], json.stdout)

        XCTAssertEqual(try runTool(["deploy"]).status, 0)
        verified = try runTool(["drift", "--deployed", "--verify"])
        XCTAssertEqual(verified.status, 0, "deploy set it back: \(verified.stdout)")
    }

    func testVerifyNeedsDeployed() throws {
        try writeFiles(["inject-secrets.yaml": "version: 1\nfunctions:\n  a: { env: { X: y } }\n"], in: directory)
        let result = try runTool(["drift", "--verify"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("--verify goes with --deployed"), result.stderr)
    }
}
