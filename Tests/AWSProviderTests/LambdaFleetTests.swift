import Foundation
import XCTest
import TestSupport

/// `deploy` and `drift --deployed` for many functions, through scripts/benchmark/lambda_standin.py in
/// front of this class's moto: it keeps each function InProgress after an update, refuses a second
/// update meanwhile (409), throttles past its rate (429), and can deny tag:GetResources, as Lambda and
/// IAM do and moto does not.
extension LambdaDeployTests {
    /// A stand-in in front of moto; stopped at the end of the test.
    func standIn(delay: Double, rate: Double, deny: [String] = []) throws -> LoopbackServer {
        let port = try freePort()
        var arguments = [
            packageRoot.appendingPathComponent("scripts/benchmark/lambda_standin.py").path, "--port", String(port),
            "--upstream", moto.baseURL, "--delay", String(delay), "--rate", String(rate),
        ]
        for operation in deny { arguments += ["--deny", operation] }
        let server = try LoopbackServer(executable: "python3", arguments: arguments, port: port, startupTimeout: 60)
        addTeardownBlock { server.stop() }
        return server
    }

    /// The stand-in's call counts since the last reset, then resets them.
    func stats(_ server: LoopbackServer) throws -> [String: Int] {
        let script = """
            import sys, urllib.request
            print(urllib.request.urlopen(sys.argv[1] + "/__standin/stats").read().decode())
            urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/__standin/reset", method="POST")).read()
            """
        let result = try runProcess("python3", ["-c", script, server.baseURL], timeout: 30)
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Int]) ?? [:]
    }

    func writeFleetManifest(_ functions: [(name: String, lambda: String)]) throws {
        var text = """
            version: 1
            providers:
              aws: { type: aws-secrets-manager, region: us-east-1, endpoint: '\(moto.baseURL)' }
            secrets:
              db: { provider: aws, id: e2e-\(run)/db }
            functions:

            """
        for function in functions {
            text += "  \(function.name):\n    env: { DB_PASSWORD: '${secrets.db.password}', NAME: \(function.name) }\n"
            text += "    lambda: { name: \(function.lambda) }\n"
        }
        try writeFiles(["inject-secrets.yaml": text], in: directory)
    }

    func testParallelDeployUpdatesEveryFunctionAndReportsWhichWereNotOnPartialFailure() throws {
        let password = try putPassword("fleet-pw")
        let names = (0..<12).map { "f\(String(format: "%02d", $0))" }
        try createFunctions(names.map { "fleet-\(run)-\($0)" })
        // f05 targets a Lambda that does not exist: its update fails with ResourceNotFoundException.
        var functions = names.map { (name: $0, lambda: "fleet-\(run)-\($0)") }
        functions[5].lambda = "fleet-\(run)-missing"
        try writeFleetManifest(functions)
        XCTAssertEqual(try runTool(["render"]).status, 0)
        let lambda = try standIn(delay: 0.3, rate: 15)

        let failed = try runTool(["deploy", "--concurrency", "3", "--rate", "12"], endpoint: lambda.baseURL)
        XCTAssertEqual(failed.status, 3, failed.stderr)
        XCTAssertTrue(failed.stderr.contains("inject-secrets.yaml:24:13: error: deploying function 'f05' to Lambda 'fleet-\(run)-missing' (us-east-1) failed: ResourceNotFoundException"), failed.stderr)
        XCTAssertTrue(failed.stderr.contains(". A rerun is safe."), failed.stderr)
        // The report names every other function once, as updated or not attempted, and says the truth.
        let summary = try XCTUnwrap(failed.stderr.range(of: "Already updated: ").map { String(failed.stderr[$0.upperBound...]) })
        let parts = summary.components(separatedBy: ". A rerun is safe.")[0].components(separatedBy: "; not attempted: ")
        let updated = parts[0].components(separatedBy: ", ")
        let notAttempted = parts.count > 1 ? parts[1].components(separatedBy: ", ") : []
        XCTAssertEqual(Set(updated + notAttempted), Set(names).subtracting(["f05"]), failed.stderr)
        XCTAssertEqual(updated.count + notAttempted.count, 11, failed.stderr)
        XCTAssertFalse(notAttempted.isEmpty, "after a failure no new function starts: \(failed.stderr)")
        let state = try deployedState(names.filter { $0 != "f05" }.map { "fleet-\(run)-\($0)" })
        for name in updated {
            XCTAssertEqual(state["fleet-\(run)-\(name)"]?.variables, ["DB_PASSWORD": password, "NAME": name], name)
            XCTAssertNotNil(state["fleet-\(run)-\(name)"]?.digest, name)
        }
        for name in notAttempted {
            XCTAssertEqual(state["fleet-\(run)-\(name)"]?.variables, [:], name)
            XCTAssertNil(state["fleet-\(run)-\(name)"]?.digest, name)
        }
        _ = try stats(lambda)

        // Fixed, the rerun updates all, in the manifest's order, within the quota.
        functions[5].lambda = "fleet-\(run)-f05"
        try writeFleetManifest(functions)
        let deployed = try runTool(["deploy", "--concurrency", "4", "--rate", "12"], endpoint: lambda.baseURL)
        XCTAssertEqual(deployed.status, 0, deployed.stderr)
        let lines = deployed.stdout.split(separator: "\n").filter { $0.hasPrefix("updated ") }
        XCTAssertEqual(lines.map { String($0.split(separator: " ")[1]) }, names, deployed.stdout)
        XCTAssertTrue(deployed.stdout.hasSuffix("12 function(s) deployed\n"), deployed.stdout)
        var counts = try stats(lambda)
        XCTAssertEqual(counts["UpdateFunctionConfiguration"], 12, "\(counts)")
        XCTAssertEqual(counts["TagResource"], 12, "\(counts)")
        XCTAssertGreaterThanOrEqual(counts["GetFunction"] ?? 0, 12, "each update was InProgress: \(counts)")
        XCTAssertNil(counts["GetFunctionConfiguration"], "polled with GetFunction, outside the shared quota: \(counts)")
        XCTAssertNil(counts["throttled"], "\(counts)")
        let all = try deployedState(names.map { "fleet-\(run)-\($0)" })
        for name in names {
            XCTAssertEqual(all["fleet-\(run)-\(name)"]?.variables, ["DB_PASSWORD": password, "NAME": name], name)
        }

        // drift --deployed: one GetResources page for all twelve; its ARNs name the account, so no STS call.
        let clean = try runTool(["drift", "--deployed"], endpoint: lambda.baseURL)
        XCTAssertEqual(clean.status, 0, clean.stdout + clean.stderr)
        counts = try stats(lambda)
        XCTAssertEqual(counts["GetResources"], 1, "\(counts)")
        XCTAssertNil(counts["GetCallerIdentity"], "\(counts)")
        XCTAssertNil(counts["ListTags"], "\(counts)")

        // An untagged one: the listing lacks it, one ListTags confirms it.
        _ = try boto("""
            l = client("lambda")
            l.untag_resource(Resource=l.get_function_configuration(FunctionName="fleet-\(run)-f07")["FunctionArn"], TagKeys=["inject-secrets:lock-digest"])
            print(json.dumps(True))
            """)
        let unknown = try runTool(["drift", "--deployed", "--format", "json"], endpoint: lambda.baseURL)
        XCTAssertEqual(unknown.status, 1, unknown.stderr)
        let entries = (try JSONSerialization.jsonObject(with: Data(unknown.stdout.utf8)) as? [String: Any])?["drift"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.map { $0["kind"] as? String }, ["deployed-unknown"], unknown.stdout)
        XCTAssertEqual(entries.first?["functions"] as? [String], ["f07"])
        counts = try stats(lambda)
        XCTAssertEqual(counts["GetResources"], 1, "\(counts)")
        XCTAssertEqual(counts["ListTags"], 1, "\(counts)")

        // Denied tag:GetResources: every function read with ListTags, in flight, and a note says why.
        let denied = try standIn(delay: 0.3, rate: 15, deny: ["GetResources"])
        let fallback = try runTool(["drift", "--deployed"], endpoint: denied.baseURL)
        XCTAssertEqual(fallback.status, 1, fallback.stderr)
        XCTAssertTrue(fallback.stdout.contains("deployed-unknown: Lambda 'fleet-\(run)-f07' (us-east-1) of function 'f07' has no inject-secrets:lock-digest tag"), fallback.stdout)
        XCTAssertTrue(fallback.stdout.contains("note: tag:GetResources was denied in us-east-1"), fallback.stdout)
        XCTAssertEqual(fallback.stdout.components(separatedBy: "deployed-").count - 1, 1, fallback.stdout)
        counts = try stats(denied)
        XCTAssertEqual(counts["denied GetResources"], 1, "\(counts)")
        XCTAssertEqual(counts["GetCallerIdentity"], 1, "names need the account for ListTags: \(counts)")
        XCTAssertEqual(counts["ListTags"], 12, "\(counts)")
    }

    func testDeployWaitsOutThrottlingAndAnUpdateInProgress() throws {
        _ = try putPassword("fleet-retry-pw")
        let names = ["r0", "r1", "r2"]
        try createFunctions(names.map { "fleet-\(run)-\($0)" })
        try writeFleetManifest(names.map { (name: $0, lambda: "fleet-\(run)-\($0)") })
        XCTAssertEqual(try runTool(["render"]).status, 0)
        // Two calls a second against a tool told it may make 50: the stand-in answers 429 with
        // Retry-After, and the tool waits it out instead of failing.
        let lambda = try standIn(delay: 3, rate: 2)
        // Someone else's update of r0 is in progress when deploy starts: 409, retried after a pause.
        _ = try boto("""
            l = boto3.client("lambda", endpoint_url="\(lambda.baseURL)", region_name="us-east-1")
            l.update_function_configuration(FunctionName="fleet-\(run)-r0", Description="by someone else")
            print(json.dumps(True))
            """)
        _ = try stats(lambda)
        let deployed = try runTool(["deploy", "--rate", "50"], endpoint: lambda.baseURL)
        XCTAssertEqual(deployed.status, 0, deployed.stderr)
        XCTAssertTrue(deployed.stdout.hasSuffix("3 function(s) deployed\n"), deployed.stdout)
        let counts = try stats(lambda)
        XCTAssertGreaterThanOrEqual(counts["throttled"] ?? 0, 1, "\(counts)")
        XCTAssertGreaterThanOrEqual(counts["conflict"] ?? 0, 1, "\(counts)")
        XCTAssertEqual(counts["UpdateFunctionConfiguration"], 3, "\(counts)")
        XCTAssertEqual(counts["TagResource"], 3, "\(counts)")
        let state = try deployedState(names.map { "fleet-\(run)-\($0)" })
        XCTAssertEqual(state.values.filter { $0.digest != nil }.count, 3, "\(state)")

        // A role allowed GetFunctionConfiguration but not GetFunction (what earlier versions asked
        // for) still deploys: polled with GetFunctionConfiguration after the first refusal.
        let older = try standIn(delay: 0.5, rate: 15, deny: ["GetFunction"])
        let again = try runTool(["deploy", "--concurrency", "1"], endpoint: older.baseURL)
        XCTAssertEqual(again.status, 0, again.stderr)
        let olderCounts = try stats(older)
        XCTAssertEqual(olderCounts["denied GetFunction"], 1, "\(olderCounts)")
        XCTAssertGreaterThanOrEqual(olderCounts["GetFunctionConfiguration"] ?? 0, 3, "\(olderCounts)")
    }
}

extension LambdaDeployTests {
    func testPolicyPrintsWhatDeployAndDriftDeployedNeed() throws {
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                functions:
                  checkout:
                    env: { STAGE: prod }
                    lambda: { name: checkout-prod, variables: merge }
                  worker:
                    env: { STAGE: prod }
                    lambda: { name: 'arn:aws:lambda:eu-west-1:123456789012:function:worker' }
                  local:
                    env: { STAGE: prod }
                """
        ], in: directory)
        let result = try runTool(["policy", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        func statements(_ key: String) -> [[String: Any]] {
            (report[key] as? [String: Any])?["Statement"] as? [[String: Any]] ?? []
        }
        func list(_ value: Any?) -> [String] { (value as? [String]) ?? (value as? String).map { [$0] } ?? [] }
        let functions = ["arn:aws:lambda:eu-west-1:123456789012:function:worker", "arn:aws:lambda:us-east-1:*:function:checkout-prod"]
        let deploy = statements("deploy")
        XCTAssertEqual(deploy.count, 1, result.stdout)
        XCTAssertEqual(Set(list(deploy.first?["Action"])), [
            "lambda:UpdateFunctionConfiguration", "lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:TagResource",
        ])
        XCTAssertEqual(list(deploy.first?["Resource"]), functions)
        let drift = statements("deployedDrift")
        XCTAssertEqual(drift.map { list($0["Action"]) }, [["tag:GetResources"], ["lambda:ListTags"]], result.stdout)
        XCTAssertEqual(list(drift.first?["Resource"]), ["*"])
        XCTAssertEqual(list(drift.last?["Resource"]), functions)
        XCTAssertEqual(report["approximate"] as? Bool, true, "the account of checkout-prod is a wildcard")

        let text = try runTool(["policy"])
        XCTAssertTrue(text.stdout.contains("== drift --deployed: Lambda\n"), text.stdout)
        XCTAssertTrue(text.stdout.contains("\"tag:GetResources\""), text.stdout)
    }
}
