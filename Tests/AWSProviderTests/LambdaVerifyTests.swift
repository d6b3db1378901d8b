import Foundation
import XCTest
@testable import InjectSecretsCore
import TestSupport

/// `drift --deployed --verify` on moto's Lambda: after an out-of-band `update-function-configuration`
/// (a variable added, one removed, one changed) the tag-only check still agrees, while `--verify`
/// names the three variables, and no value (locked, live or changed) reaches any channel.
final class LambdaVerifyTests: XCTestCase {
    var moto: LoopbackServer!
    var directory: URL!
    var canaries: [Canary] = []
    let run = UUID().uuidString.prefix(8).lowercased()
    let keys = ["AWS_ACCESS_KEY_ID": "AKIDVERIFYTEST", "AWS_SECRET_ACCESS_KEY": "verify-test-secret-key", "AWS_REGION": "us-east-1"]

    override func setUpWithError() throws {
        guard which("moto_server") != nil, (try? runProcess("python3", ["-c", "import boto3"], timeout: 60))?.status == 0 else {
            let message = try missingServer("moto_server (with python3 and boto3)", install: "pip install 'moto[server]' boto3")
            throw XCTSkip(message)
        }
        let port = try freePort()
        // Without request authentication, as LambdaDeployTests explains.
        moto = try LoopbackServer(executable: "moto_server", arguments: ["-H", "127.0.0.1", "-p", String(port)], port: port, startupTimeout: 120)
        directory = try makeTemporaryDirectory("lambda-verify")
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

    /// Every file the tool may write (lock, record, JUnit, step summary), with stdout and stderr.
    @discardableResult
    func runTool(_ arguments: [String], extra: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let environment = keys.merging(["AWS_ENDPOINT_URL": moto.baseURL]) { $1 }.merging(extra) { $1 }
        return try TestSupport.runTool(
            arguments, in: directory, environment: environment, canaries: canaries.map(\.value),
            valuesOnlyIn: [".build/inject-secrets/"], file: file, line: line)
    }

    func boto(_ script: String) throws {
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("AWS_") { environment[key] = nil }
        environment.merge(keys) { $1 }
        environment["MOTO_URL"] = moto.baseURL
        let prelude = """
            import boto3, io, json, os, zipfile
            def client(name): return boto3.client(name, endpoint_url=os.environ["MOTO_URL"], region_name="us-east-1")

            """
        let result = try runProcess("python3", ["-c", prelude + script], environment: environment, timeout: 120)
        guard result.status == 0 else { throw TestFailure("boto3 script failed: \(result.stderr.suffix(2000))") }
    }

    func testVerifyNamesAddedRemovedAndChangedVariablesOnly() throws {
        let password = canary("verify-db"), token = canary("verify-token"), edited = canary("edited-by-hand"), added = canary("added-by-hand")
        let name = "verify-\(run)-checkout"
        try boto("""
            client("secretsmanager").create_secret(Name="verify-\(run)/db", SecretString="\(password)")
            client("ssm").put_parameter(Name="/verify-\(run)/token", Value="\(token)", Type="SecureString")
            role = client("iam").create_role(RoleName="verify-\(run)", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            code = io.BytesIO()
            with zipfile.ZipFile(code, "w") as z: z.writestr("f.py", "def handler(e, c): return 1\\n")
            client("lambda").create_function(FunctionName="\(name)", Runtime="python3.12", Role=role, Handler="f.handler",
                Code={"ZipFile": code.getvalue()})
            """)
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  aws: { type: aws-secrets-manager, region: us-east-1, endpoint: '\(moto.baseURL)' }
                  ssm: { type: aws-ssm, region: us-east-1, endpoint: '\(moto.baseURL)' }
                secrets:
                  db: { provider: aws, id: verify-\(run)/db }
                  token: { provider: ssm, id: /verify-\(run)/token }
                functions:
                  checkout:
                    env: { DB_PASSWORD: "${secrets.db}", API_TOKEN: "${secrets.token}", STAGE: prod }
                    lambda: { name: \(name), region: us-east-1 }
                """,
        ], in: directory)
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
