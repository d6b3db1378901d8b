import Foundation
import TestSupport
import XCTest

/// render -> lock -> drift on the file store, through the built executable.
final class RenderDriftTests: XCTestCase {
    var workspace: CLIWorkspace!
    var dbPassword2 = "", dbPassword3 = "", apiToken = ""

    override func setUpWithError() throws {
        workspace = try CLIWorkspace("render")
        dbPassword2 = workspace.canary("db2")
        dbPassword3 = workspace.canary("db3")
        apiToken = workspace.canary("token")
        try workspace.write([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  local: { type: file, path: store.yaml }
                secrets:
                  db: { provider: local, id: prod/db }
                  token: { provider: local, id: api-token }
                vars: { stage: prod }
                defaults:
                  env: { STAGE: "${vars.stage}" }
                functions:
                  checkout:
                    env:
                      DB_PASSWORD: ${secrets.db.password}
                      URL: postgres://${secrets.db.user}@db.${vars.stage}
                    outputs: [{ format: dotenv }, { format: json }]
                  worker:
                    env: { DB_PASSWORD: "${secrets.db.password}" }
                  mailer:
                    env: { TOKEN: "${secrets.token}" }
                    outputs: [{ format: shell }]
                """,
            "store.yaml": store(current: "2"),
        ])
    }

    func store(current: String, withVersion3: Bool = false, dropVersion: String? = nil) -> String {
        var versions = [
            "1": "{ user: app, password: old }",
            "2": "{ user: app, password: \(dbPassword2) }",
        ]
        if withVersion3 { versions["3"] = "{ user: app, password: \(dbPassword3) }" }
        if let dropVersion { versions[dropVersion] = nil }
        let lines = versions.sorted { $0.key < $1.key }.map { "    \"\($0.key)\": \($0.value)" }.joined(separator: "\n")
        return """
            prod/db:
              current: "\(current)"
              versions:
            \(lines)
            api-token:
              current: v1
              versions:
                v1: \(apiToken)
            """
    }

    func drift(_ extra: [String] = []) throws -> (ProcessResult, [[String: Any]]) {
        let result = try workspace.run(["drift", "--format", "json"] + extra)
        let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (result, document?["drift"] as? [[String: Any]] ?? [])
    }

    func testRenderWritesEveryOutputAndALockWithoutValues() throws {
        let result = try workspace.run(["render"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(workspace.read(".build/inject-secrets/checkout.env")!.contains(dbPassword2))
        XCTAssertNotNil(workspace.read(".build/inject-secrets/checkout.json"))
        XCTAssertNotNil(workspace.read(".build/inject-secrets/worker.env"))
        XCTAssertTrue(workspace.read(".build/inject-secrets/mailer.sh")!.contains(apiToken))
        // A function's outputs hold only the secrets its own env references.
        XCTAssertFalse(workspace.read(".build/inject-secrets/mailer.sh")!.contains(dbPassword2))
        XCTAssertFalse(workspace.read(".build/inject-secrets/worker.env")!.contains(apiToken))

        let lock = try XCTUnwrap(workspace.lock)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lock.utf8)) as? [String: Any])
        let secrets = try XCTUnwrap(json["secrets"] as? [String: [String: String]])
        XCTAssertEqual(secrets["db"]?["version"], "2")
        XCTAssertEqual(secrets["db"]?["id"], "prod/db")
        XCTAssertEqual(secrets["db"]?["policy"], "current")
        XCTAssertEqual(secrets["token"]?["version"], "v1")
        let functions = try XCTUnwrap(json["functions"] as? [String: [String: [String]]])
        XCTAssertEqual(functions["checkout"]?["secrets"], ["db"])
        XCTAssertEqual(functions["checkout"]?["outputs"], [".build/inject-secrets/checkout.env", ".build/inject-secrets/checkout.json"])

        // Modes: 0600 files in 0700 folders.
        let attributes = try FileManager.default.attributesOfItem(atPath: workspace.url(".build/inject-secrets/checkout.env").path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let folder = try FileManager.default.attributesOfItem(atPath: workspace.url(".build/inject-secrets").path)
        XCTAssertEqual((folder[.posixPermissions] as? NSNumber)?.intValue, 0o700)
    }

    func testLockIsByteStableAcrossRenders() throws {
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        let first = try XCTUnwrap(workspace.bytes("inject-secrets.lock"))
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        XCTAssertEqual(workspace.bytes("inject-secrets.lock"), first)
        let lock = String(decoding: first, as: UTF8.self)
        XCTAssertNil(lock.range(of: #"\d{4}-\d{2}-\d{2}"#, options: .regularExpression), "no timestamps in the lock")
        // Keys sorted at every level.
        XCTAssertLessThan(lock.range(of: "\"functions\"")!.lowerBound, lock.range(of: "\"secrets\"")!.lowerBound)
    }

    func testRotationDriftLockedRenderAndFollow() throws {
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        XCTAssertEqual(try workspace.run(["drift"]).status, 0)

        try workspace.write(["store.yaml": store(current: "3", withVersion3: true)])
        let (result, drifts) = try drift()
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(drifts.count, 1, result.stdout)
        XCTAssertEqual(drifts.first?["kind"] as? String, "rotated")
        XCTAssertEqual(drifts.first?["secret"] as? String, "db")
        XCTAssertEqual(drifts.first?["locked"] as? String, "2")
        XCTAssertEqual(drifts.first?["current"] as? String, "3")
        // Only the functions that use db, not mailer.
        XCTAssertEqual(drifts.first?["functions"] as? [String], ["checkout", "worker"])
        let text = try workspace.run(["drift"])
        XCTAssertEqual(text.status, 1)
        XCTAssertTrue(text.stdout.contains("db (prod/db) rotated: locked 2, current 3"), text.stdout)

        // The plan names the change without reading a value.
        let plan = try workspace.run(["render", "--dry-run"])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("db (prod/db): 2 -> 3"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("DB_PASSWORD"), plan.stdout)
        XCTAssertFalse(plan.stdout.contains("mailer:"), plan.stdout)

        // --locked keeps the locked version.
        let lockBefore = workspace.bytes("inject-secrets.lock")
        XCTAssertEqual(try workspace.run(["render", "--locked"]).status, 0)
        XCTAssertTrue(workspace.read(".build/inject-secrets/checkout.env")!.contains(dbPassword2))
        XCTAssertFalse(workspace.read(".build/inject-secrets/checkout.env")!.contains(dbPassword3))
        XCTAssertEqual(workspace.bytes("inject-secrets.lock"), lockBefore)

        // A plain render follows the rotation; drift is then clean.
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        XCTAssertTrue(workspace.read(".build/inject-secrets/checkout.env")!.contains(dbPassword3))
        XCTAssertTrue(workspace.lock!.contains("\"version\": \"3\""))
        let (clean, none) = try drift()
        XCTAssertEqual(clean.status, 0, clean.stdout)
        XCTAssertEqual(none.count, 0)
    }

    func testEditedDeletedAndGoneEachTheirOwnKind() throws {
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        try Data("DB_PASSWORD=changed\n".utf8).write(to: workspace.url(".build/inject-secrets/worker.env"))
        try FileManager.default.removeItem(at: workspace.url(".build/inject-secrets/mailer.sh"))
        try workspace.write(["store.yaml": store(current: "1", dropVersion: "2")])

        let (result, drifts) = try drift()
        XCTAssertEqual(result.status, 1)
        let kinds = Dictionary(grouping: drifts, by: { $0["kind"] as? String ?? "" })
        XCTAssertEqual(kinds["output-modified"]?.first?["output"] as? String, ".build/inject-secrets/worker.env")
        XCTAssertEqual(kinds["output-modified"]?.first?["functions"] as? [String], ["worker"])
        XCTAssertEqual(kinds["output-missing"]?.first?["output"] as? String, ".build/inject-secrets/mailer.sh")
        XCTAssertEqual(kinds["output-missing"]?.first?["functions"] as? [String], ["mailer"])
        XCTAssertEqual(kinds["version-gone"]?.first?["secret"] as? String, "db")
        XCTAssertEqual(kinds["version-gone"]?.first?["functions"] as? [String], ["checkout", "worker"])
    }

    func testStaleOutputUnlockedAndOrphaned() throws {
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        // Render one function from the rotated store with --function: the lock moves, the other
        // function's outputs still hold the old version.
        try workspace.write(["store.yaml": store(current: "3", withVersion3: true)])
        XCTAssertEqual(try workspace.run(["render", "--function", "worker"]).status, 0)
        var (_, drifts) = try drift()
        let stale = drifts.filter { $0["kind"] as? String == "output-stale" }.compactMap { $0["output"] as? String }.sorted()
        XCTAssertEqual(stale, [".build/inject-secrets/checkout.env", ".build/inject-secrets/checkout.json"])

        // A new secret in the manifest is unlocked; one no longer used is orphaned.
        var manifest = workspace.read("inject-secrets.yaml")!
        manifest = manifest.replacingOccurrences(of: "env: { TOKEN: \"${secrets.token}\" }", with: "env: { TOKEN: \"${secrets.token2}\" }")
        manifest = manifest.replacingOccurrences(of: "  token: { provider: local, id: api-token }", with: "  token2: { provider: local, id: api-token }")
        try workspace.write(["inject-secrets.yaml": manifest])
        (_, drifts) = try drift()
        let unlocked = drifts.first { $0["kind"] as? String == "unlocked" }
        XCTAssertEqual(unlocked?["secret"] as? String, "token2")
        XCTAssertEqual(unlocked?["functions"] as? [String], ["mailer"])
        let orphaned = drifts.first { $0["kind"] as? String == "orphaned" }
        XCTAssertEqual(orphaned?["secret"] as? String, "token")

        // --locked refuses a secret the lock lacks, with the place and exit 2.
        let locked = try workspace.run(["render", "--locked"])
        XCTAssertEqual(locked.status, 2)
        XCTAssertTrue(locked.stderr.contains("inject-secrets.yaml:6:3: error: secret 'token2'"), locked.stderr)
    }

    func testFailingSecretWritesNothing() throws {
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        let before = filesBelow(workspace.directory)
        // current points at a version that does not exist.
        try workspace.write(["store.yaml": store(current: "9")])
        let storeText = workspace.read("store.yaml")!
        let result = try workspace.run(["render"])
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertTrue(result.stderr.contains("error: secret 'db' (provider 'local'): reading prod/db in store.yaml: version '9' not found"), result.stderr)
        var after = filesBelow(workspace.directory)
        XCTAssertEqual(after.removeValue(forKey: workspace.url("store.yaml").path), storeText)
        var expected = before
        expected.removeValue(forKey: workspace.url("store.yaml").path)
        XCTAssertEqual(after, expected, "outputs, lock and record must be byte-identical after a failed render")
    }

    func testUnknownFunctionIsBadInput() throws {
        let result = try workspace.run(["render", "--function", "chekout"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("no function named 'chekout'"), result.stderr)
        XCTAssertTrue(result.stderr.contains("did you mean 'checkout'?"), result.stderr)
    }

    func testEnvironmentOverlayAndEnvTemplates() throws {
        try workspace.write([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  local: { type: file, path: store.yaml }
                secrets:
                  db: { provider: local, id: "${vars.stage}/db" }
                vars: { stage: prod }
                environments:
                  staging:
                    vars: { stage: staging }
                    defaults: { output-dir: out/staging }
                functions:
                  api:
                    env:
                      PASSWORD: ${secrets.db.password}
                      SHA: ${env.INJECT_SECRETS_TEST_SHA}
                      REGION: ${env.NO_SUCH_VARIABLE_SET:-eu-west-1}
                      LITERAL: "cost: $${price}"
                """,
            "store.yaml": store(current: "2") + """

                staging/db:
                  current: s1
                  versions:
                    s1: { password: staging-password }
                """,
        ])
        let missing = try workspace.run(["render"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("inject-secrets.yaml:15:12: error: environment variable INJECT_SECRETS_TEST_SHA is not set"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.url("inject-secrets.lock").path))

        let prod = try workspace.run(["render"], environment: ["INJECT_SECRETS_TEST_SHA": "abc123"])
        XCTAssertEqual(prod.status, 0, prod.stderr)
        let env = workspace.read(".build/inject-secrets/api.env")!
        XCTAssertTrue(env.contains("SHA=\"abc123\"") || env.contains("SHA=abc123") || env.contains("SHA='abc123'"), env)
        XCTAssertTrue(env.contains("eu-west-1"))
        XCTAssertTrue(env.contains("cost: ${price}"), env)

        let staging = try workspace.run(["render", "--environment", "staging"], environment: ["INJECT_SECRETS_TEST_SHA": "abc123"])
        XCTAssertEqual(staging.status, 0, staging.stderr)
        XCTAssertTrue(workspace.read("out/staging/api.env")!.contains("staging-password"))
        let lock = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(workspace.lock!.utf8)) as? [String: Any])
        let environments = try XCTUnwrap(lock["environments"] as? [String: [String: Any]])
        let stagingSecrets = try XCTUnwrap(environments["staging"]?["secrets"] as? [String: [String: String]])
        XCTAssertEqual(stagingSecrets["db"]?["id"], "staging/db")
        XCTAssertEqual(stagingSecrets["db"]?["version"], "s1")
        XCTAssertEqual(try workspace.run(["drift", "--environment", "staging"], environment: ["INJECT_SECRETS_TEST_SHA": "abc123"]).status, 0)
        XCTAssertEqual(try workspace.run(["drift"], environment: ["INJECT_SECRETS_TEST_SHA": "abc123"]).status, 0)
    }
}
