import Foundation
import TestSupport
import XCTest

/// Store failures become messages in one place, the engine: each names its secret and provider once,
/// then what the store was doing where; two names for one secret share one read and fail each in its
/// own name.
final class StoreFailureMessageTests: XCTestCase {
    func testTwoNamesForOneMissingSecretFailEachInItsOwnNameOnce() throws {
        let workspace = try CLIWorkspace("store-failure")
        let value = workspace.canary("db")
        try workspace.write([
            "inject-secrets.yaml": CLIWorkspace.fileStoreManifest(
                secrets: [
                    "db: { provider: local, id: prod/db }", "primary: { provider: local, id: prod/gone }",
                    "replica: { provider: local, id: prod/gone }",
                ],
                functions: ["api:", "  env: { DB: \"${secrets.db}\", A: \"${secrets.primary}\", B: \"${secrets.replica}\" }"]),
            "store.yaml": "prod/db: { current: \"1\", versions: { \"1\": \"\(value)\" } }\n",
        ])
        let result = try workspace.run(["render", "--audit-log", "audit.jsonl"])
        XCTAssertEqual(result.status, 3, result.stderr)
        let errors = result.stderr.split(separator: "\n").filter { $0.contains("error: ") }
        XCTAssertEqual(errors, [
            "error: secret 'primary' (provider 'local'): reading prod/gone in store.yaml: no such secret in the file",
            "error: secret 'replica' (provider 'local'): reading prod/gone in store.yaml: no such secret in the file",
        ], result.stderr)

        // The audit log keeps the kind and the store's part of the message; the record names the secret.
        let audit = try XCTUnwrap(workspace.read("audit.jsonl"))
        XCTAssertFalse(audit.contains(value), "no value in the audit log")
        let records = try audit.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let failed = records.filter { $0["outcome"] as? String == "not-found" }
        XCTAssertEqual(failed.compactMap { $0["secret"] as? String }.sorted(), ["primary", "replica"], "\(records)")
        for record in failed {
            XCTAssertEqual(record["error"] as? String, "not found")
            XCTAssertEqual(record["message"] as? String, "reading prod/gone in store.yaml: no such secret in the file")
        }
    }
}
