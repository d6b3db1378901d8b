import Foundation
import InjectSecretsRuntime
import TestSupport
import XCTest

/// fixtures/runtime-sample, built as a function's package builds (depending on this repository by path)
/// and run against the extension stand-in: it resolves a JSON-key reference and a plain value, and
/// prints no secret. One build per run of this class.
final class RuntimeSampleTests: MotoTestCase {
    func testSampleFunctionAuthorizesWithTheFetchedKeyAndPrintsNoSecret() async throws {
        let standIn = try SecretsExtensionStandIn(moto: moto, identity: moto.identities.session)
        defer { standIn.stop() }
        let work = try makeTemporaryDirectory("runtime-sample")
        defer { try? FileManager.default.removeItem(at: work) }

        let build = try runProcess("swift", [
            "build", "--package-path", packageRoot.appendingPathComponent("fixtures/runtime-sample").path,
            "--scratch-path", work.appendingPathComponent(".build-runtime-sample").path, "--product", "runtime-sample",
        ], timeout: 1500)
        XCTAssertEqual(build.status, 0, String(build.allOutput.suffix(6000)))
        let binPath = try runProcess("swift", [
            "build", "--package-path", packageRoot.appendingPathComponent("fixtures/runtime-sample").path,
            "--scratch-path", work.appendingPathComponent(".build-runtime-sample").path, "--show-bin-path",
        ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let sample = URL(fileURLWithPath: binPath).appendingPathComponent("runtime-sample").path

        let key = Canary("api-key")
        let created = try await moto.seed("secretsmanager", "CreateSecret", [
            "Name": .string("rt/\(run)/sample"), "SecretString": .string(#"{"key": "\#(key.value)"}"#),
        ])
        let reference = try RuntimeReference(
            store: .secretsManager, arn: created["ARN"]!.string!, selector: .version(created["VersionId"]!.string!),
            key: "key")
        try writeFiles([
            "right.json": #"{"apiKey": "\#(key.value)"}"#, "wrong.json": #"{"apiKey": "guess"}"#,
        ], in: work)
        // A proxy in the environment must not be used: the extension is on localhost.
        let environment = ProcessInfo.processInfo.environment.merging(standIn.functionEnvironment([
            "API_KEY": reference.description, "STAGE": "prod",
            "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "all_proxy": "http://127.0.0.1:9",
        ])) { $1 }
        try await standIn.reset()
        let result = try runProcess(
            sample, [work.appendingPathComponent("right.json").path, work.appendingPathComponent("wrong.json").path],
            environment: environment, timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "{\"authorized\":true,\"stage\":\"prod\"}\n{\"authorized\":false,\"stage\":\"prod\"}\n")
        let requests = try await standIn.requests()
        XCTAssertEqual(requests, 1, "two invocations of one process share one fetch")

        // Without the layer the function fails saying so, and still prints nothing of the key.
        var absent = environment
        absent["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = String(try freePort())
        let failed = try runProcess(sample, [work.appendingPathComponent("right.json").path], environment: absent, timeout: 120)
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stderr.contains("AWS-Parameters-and-Secrets-Lambda-Extension"), failed.stderr)

        XCTAssertEqual(key.leaks(in: [
            "sample stdout": result.stdout, "sample stderr": result.stderr, "failed run": failed.allOutput,
            "build": build.allOutput, "stand-in log": standIn.log,
        ]), [])
    }
}
