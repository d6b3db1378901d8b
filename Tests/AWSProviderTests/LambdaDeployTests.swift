import Foundation
import XCTest
import TestSupport

/// `deploy` and `drift --deployed` against moto's Lambda (CreateFunction, UpdateFunctionConfiguration,
/// GetFunctionConfiguration and tags work without docker; only Invoke would need it). moto 5.2's IAM
/// mode rejects even botocore's signature on Lambda GETs, so this class runs its own moto without
/// request authentication (the SigV4 signer is checked against moto's IAM mode by the other classes).
final class LambdaDeployTests: XCTestCase {
    nonisolated(unsafe) static var server: LoopbackServer?
    nonisolated(unsafe) static var skipReason: String?

    override class func setUp() {
        super.setUp()
        guard which("moto_server") != nil, (try? runProcess("python3", ["-c", "import boto3"], timeout: 60))?.status == 0 else {
            skipReason = (try? missingServer("moto_server (with python3 and boto3)", install: "pip install 'moto[server]' boto3")) ?? "moto missing"
            return
        }
        do {
            let port = try freePort()
            server = try LoopbackServer(executable: "moto_server", arguments: ["-H", "127.0.0.1", "-p", String(port)], port: port, startupTimeout: 120)
        } catch {
            skipReason = "moto_server failed to start: \(error)"
        }
    }

    override class func tearDown() {
        server?.stop()
        server = nil
        super.tearDown()
    }

    var moto: LoopbackServer!
    var directory: URL!
    var canaries: [Canary] = []
    let run = UUID().uuidString.prefix(8).lowercased()
    let keys = ["AWS_ACCESS_KEY_ID": "AKIDLAMBDATEST", "AWS_SECRET_ACCESS_KEY": "lambda-test-secret-key", "AWS_REGION": "us-east-1"]

    override func setUpWithError() throws {
        if let reason = Self.skipReason {
            if isCI { XCTFail(reason); return }
            throw XCTSkip(reason)
        }
        moto = Self.server
        directory = try makeTemporaryDirectory("lambda")
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        super.tearDown()
    }

    func canary(_ label: String) -> String {
        let canary = Canary(label)
        canaries.append(canary)
        return canary.value
    }

    /// Runs the executable against this moto; no canary and not the secret key may leak.
    @discardableResult
    func runTool(_ arguments: [String], endpoint: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try TestSupport.runTool(
            arguments, in: directory, environment: keys.merging(["AWS_ENDPOINT_URL": endpoint ?? moto.baseURL]) { $1 },
            canaries: canaries.map(\.value) + [keys["AWS_SECRET_ACCESS_KEY"]!], file: file, line: line)
    }

    /// Runs boto3 against moto; returns its stdout parsed as JSON.
    func boto(_ script: String) throws -> Any {
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("AWS_") { environment[key] = nil }
        environment.merge(keys) { $1 }
        environment["MOTO_URL"] = moto.baseURL
        let prelude = """
            import boto3, io, json, os, sys, zipfile
            def client(name): return boto3.client(name, endpoint_url=os.environ["MOTO_URL"], region_name="us-east-1")

            """
        let result = try runProcess("python3", ["-c", prelude + script], environment: environment, timeout: 120)
        guard result.status == 0 else { throw TestFailure("boto3 script failed: \(result.stderr.suffix(2000))") }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8), options: .fragmentsAllowed)
    }

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
            iam = client("iam")
            role = iam.create_role(RoleName="lambda-\(run)", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
            code = io.BytesIO()
            with zipfile.ZipFile(code, "w") as z: z.writestr("lambda_function.py", "def handler(e, c): return 1\\n")
            client("lambda").create_function(FunctionName="\(lambdaName)", Runtime="python3.12", Role=role,
                Handler="lambda_function.handler", Code={"ZipFile": code.getvalue()},
                Environment={"Variables": {"LEFT_OVER": "from-before"}})
            print(json.dumps(True))
            """)
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  aws: { type: aws-secrets-manager, region: us-east-1, endpoint: '\(moto.baseURL)' }
                  ssm: { type: aws-ssm, region: us-east-1, endpoint: '\(moto.baseURL)' }
                secrets:
                  db: { provider: aws, id: e2e-\(run)/db }
                  token: { provider: ssm, id: /e2e-\(run)/token }
                functions:
                  checkout:
                    env:
                      DB_PASSWORD: ${secrets.db.password}
                      API_TOKEN: ${secrets.token}
                      STAGE: prod
                    outputs: [{ format: lambda }]
                    lambda: { name: \(lambdaName), region: us-east-1 }
                  worker:
                    env: { STAGE: prod }
                """
        ], in: directory)
        func configuration() throws -> (variables: [String: String], tags: [String: String]) {
            let answer = try boto("""
                l = client("lambda")
                c = l.get_function_configuration(FunctionName="\(lambdaName)")
                print(json.dumps({"variables": c.get("Environment", {}).get("Variables", {}), "tags": l.list_tags(Resource=c["FunctionArn"]).get("Tags", {})}))
                """) as? [String: [String: String]]
            return (answer?["variables"] ?? [:], answer?["tags"] ?? [:])
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
