import Foundation
import TestSupport
import XCTest

/// `--audit-log`, `policy` on the file store, and where render refuses to write: links, git-tracked
/// paths, paths outside the manifest's folder. Through the built executable.
final class AuditAndHardeningTests: XCTestCase {
    var workspace: CLIWorkspace!
    var dbPassword = "", apiToken = ""

    override func setUpWithError() throws {
        workspace = try CLIWorkspace("audit")
        dbPassword = workspace.canary("db")
        apiToken = workspace.canary("token")
        try workspace.copyFixture("shop", values: ["DB_PASSWORD": dbPassword, "API_TOKEN": apiToken])
    }

    /// Adds a line under the last function (mailer), at line 14 of the manifest.
    func appendToManifest(_ line: String) throws {
        var manifest = workspace.read("inject-secrets.yaml")!
        if !manifest.hasSuffix("\n") { manifest += "\n" }
        try workspace.write(["inject-secrets.yaml": manifest + line + "\n"])
    }

    func auditRecords(_ path: String) throws -> [[String: Any]] {
        let text = try XCTUnwrap(workspace.read(path), "no audit log at \(path)")
        return try text.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func assertNoCanary(in path: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let text = workspace.read(path) else { return XCTFail("no \(path)", file: file, line: line) }
        workspace.assertNoLeaks(in: [path: text], file: file, line: line)
    }

    // MARK: Audit log

    func testAuditLogRecordsEveryReadAppendsAndIsPrivate() throws {
        let pipeline = [
            "GITHUB_REPOSITORY": "org/shop", "GITHUB_WORKFLOW": "deploy", "GITHUB_RUN_ID": "42",
            "GITHUB_ACTOR": "octo", "GITHUB_REF": "refs/heads/main",
        ]
        let render = try workspace.run(["render", "--audit-log", "audit.jsonl"], environment: pipeline)
        XCTAssertEqual(render.status, 0, render.stderr)
        var records = try auditRecords("audit.jsonl")
        XCTAssertEqual(records.count, 2)
        let db = try XCTUnwrap(records.first { $0["secret"] as? String == "db" })
        XCTAssertEqual(db["operation"] as? String, "render")
        XCTAssertEqual(db["provider"] as? String, "local")
        XCTAssertEqual(db["id"] as? String, "prod/db")
        XCTAssertEqual(db["version"] as? String, "2")
        XCTAssertEqual(db["functions"] as? [String], ["checkout", "worker"])
        XCTAssertEqual(db["outcome"] as? String, "ok")
        XCTAssertNotNil(db["time"] as? String)
        XCTAssertEqual((db["pipeline"] as? [String: String])?["GITHUB_RUN_ID"], "42")
        XCTAssertEqual((db["pipeline"] as? [String: String])?["GITHUB_ACTOR"], "octo")
        let mode = try FileManager.default.attributesOfItem(atPath: workspace.url("audit.jsonl").path)[.posixPermissions] as? NSNumber
        XCTAssertEqual(mode?.intValue, 0o600)

        // drift through the environment variable: appended, metadata lookups, same file.
        let drift = try workspace.run(["drift"], environment: ["INJECT_SECRETS_AUDIT_LOG": "audit.jsonl"])
        XCTAssertEqual(drift.status, 0, drift.stdout + drift.stderr)
        records = try auditRecords("audit.jsonl")
        XCTAssertEqual(records.count, 4)
        XCTAssertEqual(records.prefix(2).compactMap { $0["operation"] as? String }, ["render", "render"])
        XCTAssertEqual(records.suffix(2).compactMap { $0["operation"] as? String }, ["drift", "drift"])
        XCTAssertEqual(records.last?["locked"] as? String, records.last?["version"] as? String)
        XCTAssertNil(records.last?["pipeline"], "no CI identity outside CI")
        assertNoCanary(in: "audit.jsonl")
    }

    func testFailuresAreAuditedEvenThoughTheRunFails() throws {
        // A loose existing file is tightened to 0600.
        try workspace.write(["audit.jsonl": ""])
        chmod(workspace.url("audit.jsonl").path, 0o644)
        try workspace.write(["store.yaml": workspace.read("store.yaml")!.replacingOccurrences(of: "current: v1", with: "current: v9")])
        let render = try workspace.run(["render", "--audit-log", "audit.jsonl"])
        XCTAssertEqual(render.status, 3, render.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.url(".build/inject-secrets/checkout.env").path), "all or nothing")
        let records = try auditRecords("audit.jsonl")
        let token = try XCTUnwrap(records.first { $0["secret"] as? String == "token" })
        XCTAssertEqual(token["outcome"] as? String, "not-found")
        XCTAssertEqual(token["error"] as? String, "version not found")
        XCTAssertEqual(token["functions"] as? [String], ["mailer"])
        XCTAssertEqual(records.first { $0["secret"] as? String == "db" }?["outcome"] as? String, "ok")
        let mode = try FileManager.default.attributesOfItem(atPath: workspace.url("audit.jsonl").path)[.posixPermissions] as? NSNumber
        XCTAssertEqual(mode?.intValue, 0o600)
        assertNoCanary(in: "audit.jsonl")
    }

    func testAnAuditLogThatCannotBeOpenedStopsTheRunBeforeAnyRead() throws {
        let render = try workspace.run(["render", "--audit-log", "missing-folder/audit.jsonl"])
        XCTAssertEqual(render.status, 2, render.stderr)
        XCTAssertTrue(render.stderr.contains("error: cannot open the audit log"), render.stderr)
        XCTAssertNil(workspace.lock)
    }

    // MARK: policy (file store)

    func testPolicyForTheFileStoreSaysWhatItCannotLimit() throws {
        let result = try workspace.run(["policy", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let functions = try XCTUnwrap(document["functions"] as? [String: [String: [String: Any]]])
        XCTAssertEqual(functions["checkout"]?["local"]?["secrets"] as? [String], ["prod/db"])
        XCTAssertEqual(functions["mailer"]?["local"]?["secrets"] as? [String], ["api-token"])
        XCTAssertEqual(functions["checkout"]?["local"]?["file"] as? String, "store.yaml")
        let drift = try XCTUnwrap(document["drift"] as? [String: [String: Any]])
        XCTAssertEqual(drift["local"]?["secrets"] as? [String], ["api-token", "prod/db"])
        let notes = try XCTUnwrap(document["notes"] as? [[String: Any]])
        XCTAssertTrue(notes.contains { ($0["message"] as? String)?.contains("reads every secret in it") == true })

        let one = try workspace.run(["policy", "--function", "mailer"])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains("== render mailer: provider 'local' (file)"), one.stdout)
        XCTAssertFalse(one.stdout.contains("render checkout"), one.stdout)
        XCTAssertFalse(one.stdout.contains("prod/db"), "drift covers only the selected function's secrets")

        let unknown = try workspace.run(["policy", "--function", "nope"])
        XCTAssertEqual(unknown.status, 2)
    }

    func testPolicyForVaultAndAzureIsExactWithoutALockAndRefusesAGlob() throws {
        try workspace.write([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  vault: { type: vault, address: "https://vault.example.com", mount: kv }
                  azure: { type: azure-key-vault, vault-url: "https://shop-prod.vault.azure.net" }
                secrets:
                  stripe: { provider: vault, id: payments/stripe }
                  db: { provider: azure, id: prod-db }
                functions:
                  checkout:
                    env: { STRIPE_KEY: "${secrets.stripe.api_key}", DB: "${secrets.db}" }
                  static:
                    env: { A: b }

                """,
        ])
        let result = try workspace.run(["policy", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(document["approximate"] as? Bool, false)
        let functions = try XCTUnwrap(document["functions"] as? [String: [String: Any]])
        XCTAssertEqual(functions["static"]?.count, 0, "a function without secrets needs no store access")
        let hcl = try XCTUnwrap(functions["checkout"]?["vault"] as? String)
        XCTAssertTrue(hcl.contains("path \"kv/data/payments/stripe\" {\n  capabilities = [\"read\"]\n}"), hcl)
        let assignments = try XCTUnwrap(functions["checkout"]?["azure"] as? [[String: String]])
        XCTAssertEqual(assignments.map { $0["role"] }, ["Key Vault Secrets User"])
        XCTAssertEqual(assignments.first?["scope"], "{vault resource id}/secrets/prod-db")
        let drift = try XCTUnwrap(document["drift"] as? [String: Any])
        XCTAssertTrue((drift["vault"] as? String)?.contains("path \"kv/metadata/payments/stripe\"") == true)
        XCTAssertEqual((drift["azure"] as? [[String: String]])?.first?["role"], "Key Vault Reader")

        let text = try workspace.run(["policy"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("== render static: reads no secret"), text.stdout)
        XCTAssertTrue(text.stdout.contains("az role assignment create --role \"Key Vault Secrets User\""), text.stdout)

        try workspace.write(["inject-secrets.yaml": workspace.read("inject-secrets.yaml")!.replacingOccurrences(of: "id: payments/stripe", with: "id: payments/*")])
        let glob = try workspace.run(["policy"])
        XCTAssertEqual(glob.status, 2, glob.stderr)
        XCTAssertTrue(glob.stderr.contains("inject-secrets.yaml:6:"), glob.stderr)
        XCTAssertTrue(glob.stderr.contains("cannot be written as one exact Vault policy path"), glob.stderr)
    }

    // MARK: Where outputs may go

    func testALinkAtAnOutputPathIsRefused() throws {
        let elsewhere = try makeTemporaryDirectory("elsewhere")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        try FileManager.default.createDirectory(at: workspace.url(".build/inject-secrets"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: workspace.url(".build/inject-secrets/checkout.env").path, withDestinationPath: elsewhere.appendingPathComponent("stolen.env").path)
        let result = try workspace.run(["render"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("it is a symbolic link"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("stolen.env").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.url(".build/inject-secrets/mailer.env").path), "all or nothing")
    }

    func testALinkedOutputFolderLeadingOutsideIsRefused() throws {
        let elsewhere = try makeTemporaryDirectory("elsewhere")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        try FileManager.default.createDirectory(at: workspace.url(".build"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: workspace.url(".build/inject-secrets").path, withDestinationPath: elsewhere.path)
        let result = try workspace.run(["render"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("leads through a symbolic link"), result.stderr)
        XCTAssertTrue(result.stderr.contains("--allow-outside-output-paths"), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path), [])

        let allowed = try workspace.run(["render", "--allow-outside-output-paths"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("checkout.env").path))
    }

    func testOutputPathsOutsideTheManifestFolderNeedTheFlag() throws {
        let outside = try makeTemporaryDirectory("outside")
        defer { try? FileManager.default.removeItem(at: outside) }
        try appendToManifest("    outputs: [{ format: json, path: \(outside.appendingPathComponent("deep/er/mailer.json").path) }]")
        let refused = try workspace.run(["render"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("inject-secrets.yaml:14:"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("pass --allow-outside-output-paths"), refused.stderr)
        XCTAssertEqual(try workspace.run(["validate", "--allow-outside-output-paths"]).status, 0)
        let allowed = try workspace.run(["render", "--allow-outside-output-paths"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        let written = outside.appendingPathComponent("deep/er/mailer.json")
        XCTAssertTrue(String(decoding: try Data(contentsOf: written), as: UTF8.self).contains(apiToken))
        func mode(_ url: URL) throws -> Int? {
            (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue
        }
        XCTAssertEqual(try mode(written), 0o600)
        // Every folder render created is 0700, whatever the umask.
        XCTAssertEqual(try mode(outside.appendingPathComponent("deep")), 0o700)
        XCTAssertEqual(try mode(outside.appendingPathComponent("deep/er")), 0o700)
        XCTAssertEqual(try mode(workspace.url(".build")), 0o700)
        XCTAssertEqual(try mode(workspace.url(".build/inject-secrets")), 0o700)
        // The lock records the path as it is outside the folder: absolute.
        XCTAssertTrue(workspace.lock!.contains(written.path), workspace.lock!)
    }

    func git(_ arguments: [String]) throws {
        let result = try runProcess("git", ["-C", workspace.directory.path] + arguments, environment: ProcessInfo.processInfo.environment.merging([
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        ]) { $1 })
        XCTAssertEqual(result.status, 0, "git \(arguments): \(result.stderr)")
    }

    func testOutputsGitWouldTrackAreRefusedWithTheGitignoreLine() throws {
        guard which("git") != nil else { throw XCTSkip("git is not installed") }
        try git(["init", "-q"])
        let refused = try workspace.run(["render", "--audit-log", "audit.jsonl"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("refusing to write '.build/inject-secrets/checkout.env' of function 'checkout': git would track it"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("add the line '/.build/inject-secrets/' to \(workspace.directory.path)/.gitignore"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--allow-tracked-outputs"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.url(".build/inject-secrets").path))
        XCTAssertEqual(workspace.read("audit.jsonl") ?? "", "", "refused before any store was read")

        // The suggested line is enough.
        try workspace.write([".gitignore": "/.build/inject-secrets/\n"])
        let ignored = try workspace.run(["render"])
        XCTAssertEqual(ignored.status, 0, ignored.stderr)

        // An output already tracked is refused even when ignored, with the way out.
        try appendToManifest("    outputs: [{ format: dotenv, path: config/mailer.env }]")
        try workspace.write(["config/mailer.env": "TOKEN=placeholder\n", ".gitignore": "/.build/inject-secrets/\n/config/\n"])
        try git(["add", "-f", "config/mailer.env"])
        let tracked = try workspace.run(["render"])
        XCTAssertEqual(tracked.status, 2, tracked.stderr)
        XCTAssertTrue(tracked.stderr.contains("inject-secrets.yaml:14:"), tracked.stderr)
        XCTAssertTrue(tracked.stderr.contains("git tracks it"), tracked.stderr)
        XCTAssertTrue(tracked.stderr.contains("git rm --cached config/mailer.env"), tracked.stderr)
        XCTAssertEqual(workspace.read("config/mailer.env"), "TOKEN=placeholder\n")

        // The explicit flag writes anyway.
        let forced = try workspace.run(["render", "--allow-tracked-outputs"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(workspace.read("config/mailer.env")!.contains(apiToken))
    }

    func testNoCanaryOutsideOutputs() throws {
        XCTAssertEqual(try workspace.run(["render", "--audit-log", "audit.jsonl"]).status, 0)
        XCTAssertEqual(try workspace.run(["drift", "--audit-log", "audit.jsonl"]).status, 0)
        XCTAssertEqual(try workspace.run(["policy", "--format", "json"]).status, 0)
        XCTAssertEqual(try workspace.run(["render", "--dry-run", "--audit-log", "audit.jsonl"]).status, 0)
        let operations = try auditRecords("audit.jsonl").compactMap { $0["operation"] as? String }
        XCTAssertEqual(operations, ["render", "render", "drift", "drift", "plan", "plan"])
        workspace.assertNoLeaks(valuesOnlyIn: ["store.yaml", ".build/inject-secrets/"])
    }
}
