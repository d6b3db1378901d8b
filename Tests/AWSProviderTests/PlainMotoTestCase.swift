import Foundation
import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsKit
import TestSupport

/// A moto_server that checks no request (no SigV4, no IAM), for what `MotoFixture` cannot serve: moto
/// 5.2's IAM mode rejects even botocore's signature on Lambda GETs, and a store that dates its versions
/// needs a clock the test sets. `dated` runs it under libfaketime with a timestamp file read on every
/// clock call (`setClock`). The SigV4 signer and IAM are checked on `MotoFixture`.
final class PlainMoto {
    let server: LoopbackServer
    private let clock: URL?
    var baseURL: String { server.baseURL }

    /// The keys every client of this moto signs with (moto checks none of them; the tool must still not
    /// print the secret one).
    static let identity = TestIdentity(AccessKeyId: "AKIDPLAINMOTO", SecretAccessKey: "plain-moto-secret-key", SessionToken: nil)

    /// Starts moto, or returns nil (loudly; a failure under CI=true) when it, boto3 or (for `dated`)
    /// libfaketime is missing.
    static func start(dated: Bool) throws -> PlainMoto? {
        guard which("moto_server") != nil, (try? runProcess("python3", ["-c", "import boto3"], timeout: 60))?.status == 0 else {
            _ = try missingServer("moto_server (with python3 and boto3)", install: "pip install 'moto[server]' boto3")
            return nil
        }
        if dated, FakeTime.library == nil {
            _ = try missingServer("libfaketime", install: "apt-get install faketime")
            return nil
        }
        return try PlainMoto(dated: dated)
    }

    private init(dated: Bool) throws {
        var environment: [String: String] = [:]
        if dated {
            let clock = FileManager.default.temporaryDirectory.appendingPathComponent("moto-clock-\(UUID().uuidString)")
            try Data("+0d\n".utf8).write(to: clock)
            environment = try FakeTime.environment(timestampFile: clock.path)
            self.clock = clock
        } else {
            clock = nil
        }
        let port = try freePort()
        server = try LoopbackServer(
            executable: "moto_server", arguments: ["-H", "127.0.0.1", "-p", String(port)], port: port,
            environment: environment, startupTimeout: 120)
    }

    /// Moves a dated moto's clock: `days` before (negative) or after now.
    func setClock(days: Int) throws {
        guard let clock else { throw TestSupportError("this moto has no clock to set") }
        // Atomically: libfaketime reads the file at every clock call, and a read between a truncation and
        // the write would date that moment (a version's CreatedDate, say) by the real clock.
        try Data("\(days >= 0 ? "+" : "")\(days)d\n".utf8).write(to: clock, options: .atomic)
    }

    func stop() {
        server.stop()
        if let clock { try? FileManager.default.removeItem(at: clock) }
    }

    /// One Secrets Manager or SSM call, for seeding and reading back what the tool did.
    @discardableResult
    func call(_ service: String, _ operation: String, _ input: JSON) async throws -> JSON {
        let (signing, prefix) = service == "ssm" ? ("ssm", "AmazonSSM") : ("secretsmanager", "secretsmanager")
        let client = AWSJSONClient(
            serviceName: "seed \(service)", signingName: signing, targetPrefix: prefix,
            endpoint: URL(string: baseURL + "/")!, region: "us-east-1",
            credentials: StaticCredentials(value: Self.identity.credentials), retry: RetryPolicy(maxAttempts: 1))
        return try await client.call(operation, input, as: JSON.self)
    }

    /// Runs a boto3 script against this moto (`client(name)` makes a client; io, json, os, sys and zipfile
    /// are imported); returns its stdout parsed as JSON, NSNull when it printed nothing.
    @discardableResult
    func boto(_ script: String) throws -> Any {
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("AWS_") { environment[key] = nil }
        environment.merge(Self.identity.environment()) { $1 }
        environment["MOTO_URL"] = baseURL
        let prelude = """
            import boto3, io, json, os, sys, zipfile
            def client(name): return boto3.client(name, endpoint_url=os.environ["MOTO_URL"], region_name="us-east-1")

            """
        let result = try runProcess("python3", ["-c", prelude + script], environment: environment, timeout: 120)
        guard result.status == 0 else { throw TestFailure("boto3 script failed: \(result.stderr.suffix(2000))") }
        if result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return NSNull() }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8), options: .fragmentsAllowed)
    }
}

/// A test class against one `PlainMoto` (dated when the class says so), started before the class's
/// first test and stopped by its PID after its last, as `MotoTestCase` does for `MotoFixture`; each
/// test gets a fresh project folder (and, dated, the clock at now). Without moto each test is skipped;
/// under CI=true it fails.
class PlainMotoTestCase: XCTestCase {
    /// Whether the class's moto runs under libfaketime.
    class var dated: Bool { false }

    // One class runs at a time, so one slot serves every subclass in turn.
    nonisolated(unsafe) static var started: Result<PlainMoto, Error>?

    override class func setUp() {
        super.setUp()
        started = Result {
            guard let moto = try PlainMoto.start(dated: dated) else {
                throw TestSupportError(dated ? "moto_server or libfaketime is not installed" : "moto_server is not installed")
            }
            return moto
        }
    }

    override class func tearDown() {
        if case .success(let moto) = started { moto.stop() }
        started = nil
        super.tearDown()
    }

    var moto: PlainMoto!
    var directory: URL!
    /// Every canary planted by this test.
    var canaries: [Canary] = []
    /// Values a store or a generator made during the test, watched like canaries.
    var generated: [String] = []
    /// What no run of the tool may print or write outside its rendered outputs.
    var watched: [String] { canaries.map(\.value) + generated + [PlainMoto.identity.SecretAccessKey] }
    /// Variables every run of the tool gets besides the identity and the endpoint.
    var toolEnvironment: [String: String] { [:] }
    let run = UUID().uuidString.prefix(8).lowercased()

    override func setUpWithError() throws {
        try super.setUpWithError()
        moto = try startedServer(Self.started)
        if Self.dated { try moto.setClock(days: 0) }
        directory = try makeTemporaryDirectory("moto")
    }

    override func tearDownWithError() throws {
        if Self.dated { try moto?.setClock(days: 0) }
        if let directory { try? FileManager.default.removeItem(at: directory) }
        try super.tearDownWithError()
    }

    /// A canary value planted by this test.
    func canary(_ label: String) -> String {
        let canary = Canary(label)
        canaries.append(canary)
        return canary.value
    }

    /// Runs the executable in `directory` with the moto identity and `AWS_ENDPOINT_URL` at `endpoint` (this
    /// moto unless given), through the shared `runTool`: no watched value may reach a place but the
    /// rendered outputs.
    @discardableResult
    func runTool(
        _ arguments: [String], endpoint: String? = nil, extra: [String: String] = [:], file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> ProcessResult {
        let environment = PlainMoto.identity.environment().merging(["AWS_ENDPOINT_URL": endpoint ?? moto.baseURL]) { $1 }
            .merging(toolEnvironment) { $1 }.merging(extra) { $1 }
        return try TestSupport.runTool(
            arguments, in: directory, environment: environment, canaries: watched,
            valuesOnlyIn: [".build/inject-secrets/"], file: file, line: line)
    }

    @discardableResult
    func boto(_ script: String) throws -> Any { try moto.boto(script) }

    /// Creates the Lambdas `names` in moto (a Python handler, one role per test), each with `variables`.
    func createFunctions(_ names: [String], variables: [String: String] = [:]) throws {
        let environment = "{" + variables.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ") + "}"
        try boto("""
            iam = client("iam")
            trust = json.dumps({"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            try: role = iam.create_role(RoleName="lambda-\(run)", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
            except iam.exceptions.EntityAlreadyExistsException: role = iam.get_role(RoleName="lambda-\(run)")["Role"]["Arn"]
            code = io.BytesIO()
            with zipfile.ZipFile(code, "w") as z: z.writestr("lambda_function.py", "def handler(e, c): return 1\\n")
            for name in \(names):
                client("lambda").create_function(FunctionName=name, Runtime="python3.12", Role=role,
                    Handler="lambda_function.handler", Code={"ZipFile": code.getvalue()}, Environment={"Variables": \(environment)})
            """)
    }

    /// What moto holds of a Lambda: its environment and its tags.
    struct LambdaState {
        var variables: [String: String]
        var tags: [String: String]
        /// The tag deploy sets.
        var digest: String? { tags["inject-secrets:lock-digest"] }
    }

    /// The state of each named Lambda, from moto.
    func deployedState(_ names: [String]) throws -> [String: LambdaState] {
        let answer = try boto("""
            l = client("lambda")
            out = {}
            for name in \(names):
                c = l.get_function_configuration(FunctionName=name)
                out[name] = {"variables": c.get("Environment", {}).get("Variables", {}),
                             "tags": l.list_tags(Resource=c["FunctionArn"]).get("Tags", {})}
            print(json.dumps(out))
            """) as? [String: [String: [String: String]]] ?? [:]
        return answer.mapValues { LambdaState(variables: $0["variables"] ?? [:], tags: $0["tags"] ?? [:]) }
    }
}
