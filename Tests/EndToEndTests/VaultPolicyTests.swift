import Foundation
import TestSupport
import XCTest

/// The generated Vault policies, loaded into a real OpenBao, grant exactly what they say: one
/// function's token renders that function and not another; the drift token runs drift but not render.
final class VaultPolicyTests: OpenBaoTestCase {
    var workspace: CLIWorkspace!

    override func setUpWithError() throws {
        try super.setUpWithError()
        workspace = try CLIWorkspace("vault-policy")
    }

    override func tearDown() {
        workspace = nil
        super.tearDown()
    }

    func testGeneratedPoliciesGrantExactlyOneFunctionAndDriftOnlyMetadata() throws {
        let bao = try server()
        let stripeKey = workspace.canary("stripe")
        let dbPassword = workspace.canary("db")
        try bao.cli(["kv", "put", "-mount=secret", "payments/stripe", "api_key=\(stripeKey)"])
        try bao.cli(["kv", "put", "-mount=secret", "prod/db", "password=\(dbPassword)"])
        try workspace.write([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  vault: { type: vault, address: "\(bao.address)", mount: secret }
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

        try bao.writePolicy("checkout", checkoutHCL)
        try bao.writePolicy("drift", driftHCL)
        let checkoutToken = try bao.token(policies: ["checkout"]), driftToken = try bao.token(policies: ["drift"])
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
