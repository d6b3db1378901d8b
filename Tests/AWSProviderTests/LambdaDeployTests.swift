import Foundation
import XCTest
import TestSupport

/// `deploy` and `drift --deployed` against moto's Lambda (CreateFunction, UpdateFunctionConfiguration,
/// GetFunctionConfiguration and tags work without docker; only Invoke would need it), on a `PlainMoto`:
/// moto's IAM mode rejects even botocore's signature on Lambda GETs.
final class LambdaDeployTests: PlainMotoTestCase {
    /// Puts a new Secrets Manager version; returns the password.
    func putPassword(_ label: String) throws -> String {
        let password = canary(label)
        _ = try boto("""
            sm = client("secretsmanager")
            value = json.dumps({"password": "\(password)"})
            try: sm.create_secret(Name="e2e-\(run)/db", SecretString=value)
            except sm.exceptions.ResourceExistsException: sm.put_secret_value(SecretId="e2e-\(run)/db", SecretString=value)
            print(json.dumps(True))
            """)
        return password
    }

    func testDeploySetsExactlyTheRenderedVariablesAndDriftDeployedFollowsTheLock() throws {
        let password = try putPassword("lambda-pw")
        let token = canary("lambda-token")
        let lambdaName = "e2e-\(run)-checkout"
        _ = try boto("""
            client("ssm").put_parameter(Name="/e2e-\(run)/token", Value="\(token)", Type="SecureString")
            """)
        try createFunctions([lambdaName], variables: ["LEFT_OVER": "from-before"])
        try writeFiles(["inject-secrets.yaml": awsManifest(endpoint: moto.baseURL, secrets: """
              db: { provider: aws, id: e2e-\(run)/db }
              token: { provider: ssm, id: /e2e-\(run)/token }
            """, functions: """
              checkout:
                env:
                  DB_PASSWORD: ${secrets.db.password}
                  API_TOKEN: ${secrets.token}
                  STAGE: prod
                outputs: [{ format: lambda }]
                lambda: { name: \(lambdaName), region: us-east-1 }
              worker:
                env: { STAGE: prod }
            """)], in: directory)
        func configuration() throws -> LambdaState {
            try XCTUnwrap(deployedState([lambdaName])[lambdaName])
        }

        // No lock yet: deploy renders from the lock, so it refuses with exit 2.
        let early = try runTool(["deploy"])
        XCTAssertEqual(early.status, 2, early.stderr)
        XCTAssertTrue(early.stderr.contains("is not in the lock"), early.stderr)

        XCTAssertEqual(try runTool(["render"]).status, 0)
        var deployed = try runTool(["deploy"])
        XCTAssertEqual(deployed.status, 0, deployed.stderr)
        XCTAssertTrue(deployed.stdout.contains("updated checkout -> arn:aws:lambda:us-east-1:"), deployed.stdout)

        // Exactly the rendered variables (replace is the default), and the digest tag.
        var state = try configuration()
        XCTAssertEqual(state.variables, ["DB_PASSWORD": password, "API_TOKEN": token, "STAGE": "prod"])
        let digest = try XCTUnwrap(state.tags["inject-secrets:lock-digest"])
        XCTAssertTrue(digest.hasPrefix("sha256:"), digest)
        XCTAssertEqual(try runTool(["drift", "--deployed"]).status, 0)

        // Rotation, re-render without deploy: the Lambda is stale.
        let rotated = try putPassword("lambda-pw2")
        XCTAssertEqual(try runTool(["render"]).status, 0)
        let stale = try runTool(["drift", "--deployed", "--format", "json"])
        XCTAssertEqual(stale.status, 1, stale.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stale.stdout.utf8)) as? [String: Any])
        let entries = report["drift"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.count, 1, stale.stdout)
        XCTAssertEqual(entries.first?["kind"] as? String, "deployed-stale")
        XCTAssertEqual(entries.first?["functions"] as? [String], ["checkout"])

        deployed = try runTool(["deploy", "--function", "checkout"])
        XCTAssertEqual(deployed.status, 0, deployed.stderr)
        state = try configuration()
        XCTAssertEqual(state.variables["DB_PASSWORD"], rotated)
        XCTAssertNotEqual(state.tags["inject-secrets:lock-digest"], digest)
        XCTAssertFalse(state.tags["inject-secrets:lock-digest"]!.contains(rotated))
        XCTAssertEqual(try runTool(["drift", "--deployed"]).status, 0)

        // A function without a target cannot be deployed; an untagged Lambda is deployed-unknown.
        let noTarget = try runTool(["deploy", "--function", "worker"])
        XCTAssertEqual(noTarget.status, 2)
        XCTAssertTrue(noTarget.stderr.contains("has no 'lambda:' target"), noTarget.stderr)
        _ = try boto("""
            l = client("lambda")
            arn = l.get_function_configuration(FunctionName="\(lambdaName)")["FunctionArn"]
            l.untag_resource(Resource=arn, TagKeys=["inject-secrets:lock-digest"])
            print(json.dumps(True))
            """)
        let unknown = try runTool(["drift", "--deployed"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stdout.contains("deployed-unknown"), unknown.stdout)
    }

    func testLambdaTargetKeysAreValidated() throws {
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                functions:
                  checkout:
                    env: { STAGE: prod }
                    lambda: { nmae: x, variables: merg }
                """
        ], in: directory)
        let result = try runTool(["validate"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("inject-secrets.yaml:5:15: error: unknown key 'nmae' in 'lambda' of function 'checkout'; did you mean 'name'?"), result.stderr)
        XCTAssertTrue(result.stderr.contains("did you mean 'merge'?"), result.stderr)

        // A Lambda target brings the Lambda rules, as a lambda output does, before anything is read.
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                functions:
                  checkout:
                    env: { AWS_REGION: eu-west-1 }
                    lambda: { name: checkout }
                """
        ], in: directory)
        let reserved = try runTool(["deploy"])
        XCTAssertEqual(reserved.status, 2)
        XCTAssertTrue(reserved.stderr.contains("variable 'AWS_REGION' of function 'checkout' cannot go to Lambda"), reserved.stderr)
    }
}
