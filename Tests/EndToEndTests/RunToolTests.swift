import Foundation
import TestSupport
import XCTest

/// The canary check every run goes through finds a value in each place it watches, and the environment
/// a run gets holds none of the machine's credentials: a check that cannot fail would protect nothing.
final class RunToolTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("run-tool")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    func testEveryWatchedPlaceIsChecked() throws {
        let canary = Canary("watched").value
        try writeFiles([
            "inject-secrets.lock": canary, "sub/inject-secrets.lock": canary,
            ".build/inject-secrets/.inject-secrets-state.json": canary, "logs/audit.jsonl": canary,
            "env-audit.jsonl": canary, "drift.xml": canary, "summary.md": canary,
            ".build/inject-secrets/checkout.env": canary, "store.yaml": canary, "notes.txt": canary,
        ], in: directory)
        let arguments = ["drift", "--audit-log", "logs/audit.jsonl", "--report", "junit", "drift.xml"]
        let environment = ["GITHUB_STEP_SUMMARY": directory.appendingPathComponent("summary.md").path]
        let leaks = canaryLeaks(
            [canary], afterRunIn: directory, arguments: arguments, environment: environment,
            output: ["stdout": canary, "stderr": "clean"])
        XCTAssertEqual(leaks[canary], [
            ".build/inject-secrets/.inject-secrets-state.json", "JUnit report drift.xml", "audit log logs/audit.jsonl",
            "inject-secrets.lock", "stdout", "step summary \(directory.appendingPathComponent("summary.md").path)",
            "sub/inject-secrets.lock",
        ])
        XCTAssertEqual(
            canaryLeaks([canary], afterRunIn: directory, environment: ["INJECT_SECRETS_AUDIT_LOG": "env-audit.jsonl"])[canary]?
                .contains("audit log env-audit.jsonl"), true)

        // Told where values belong, every other file is checked too; the outputs and the store are not.
        let wide = canaryLeaks([canary], afterRunIn: directory, valuesOnlyIn: [".build/inject-secrets/", "store.yaml"])
        XCTAssertEqual(wide[canary]?.contains("notes.txt"), true)
        XCTAssertEqual(wide[canary]?.contains(".build/inject-secrets/checkout.env"), false)
        XCTAssertEqual(wide[canary]?.contains("store.yaml"), false)
        XCTAssertEqual(canaryLeaks(["CANARY-absent"], afterRunIn: directory, valuesOnlyIn: []), [:])
    }

    func testTheRunsEnvironmentHoldsNoneOfTheMachinesCredentials() throws {
        let names = ["AWS_SECRET_ACCESS_KEY", "VAULT_TOKEN", "AZURE_CLIENT_SECRET", "GITHUB_STEP_SUMMARY", "https_proxy", "INJECT_SECRETS_AUDIT_LOG"]
        for name in names { setenv(name, "machine-value", 1) }
        defer { for name in names { unsetenv(name) } }
        let environment = scrubbedEnvironment(home: directory, ["VAULT_TOKEN": "test-token"])
        XCTAssertEqual(environment.filter { $0.value == "machine-value" }, [:])
        XCTAssertEqual(environment["VAULT_TOKEN"], "test-token")
        XCTAssertEqual(environment["HOME"], directory.path)
        XCTAssertNotNil(environment["PATH"])

        // And the tool really runs with it: a leaked canary on stderr is found.
        let canary = Canary("stderr").value
        let result = try runProcess(
            toolExecutable.path, ["render", "--manifest", canary], environment: environment, currentDirectory: directory)
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertEqual(canaryLeaks([canary], afterRunIn: directory, output: ["stderr": result.stderr])[canary], ["stderr"])
    }
}
