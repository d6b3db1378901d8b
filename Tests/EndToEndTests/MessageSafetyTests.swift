import Foundation
import TestSupport
import XCTest

/// No value in any message, whatever the store or the manifest holds: file store syntax errors, ids that
/// carry control characters, figures measured on values, and the refusals that come after the reads.
/// Each run is checked on every channel: stdout, stderr, the `::error` annotations, the step summary,
/// the audit log, the JUnit report, the lock and the render record.
final class MessageSafetyTests: XCTestCase {
    var workspace: CLIWorkspace!

    override func setUpWithError() throws {
        workspace = try CLIWorkspace("messages")
    }

    /// Runs with GitHub Actions reporting and an audit log on (`runTool` checks every channel for the
    /// canaries); returns the result and the channels, for the workflow-command checks.
    func runEverywhere(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (ProcessResult, [String: String]) {
        let summary = workspace.url("summary-\(UUID().uuidString).md")
        let audit = workspace.url("audit-\(UUID().uuidString).jsonl")
        let result = try workspace.run(
            arguments,
            environment: [
                "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary.path, "GITHUB_WORKSPACE": workspace.directory.path,
                "INJECT_SECRETS_AUDIT_LOG": audit.path,
            ], file: file, line: line)
        var channels = ["stdout": result.stdout, "stderr": result.stderr]
        channels["summary"] = (try? String(contentsOf: summary, encoding: .utf8)) ?? ""
        channels["audit"] = (try? String(contentsOf: audit, encoding: .utf8)) ?? ""
        for (path, text) in filesBelow(workspace.directory) where path.hasSuffix(".xml") { channels[path] = text }
        return (result, channels)
    }

    func testFileStoreAliasAndAnchorErrorsNameThePlaceAndIdOnly() throws {
        // An unquoted password starting with '&' is an anchor, one starting with '*' an alias; the alias
        // is one character off the anchor, so a "did you mean" would quote the other value.
        let anchored = workspace.canary("anchor")
        let aliased = String(anchored.dropLast()) + (anchored.last == "A" ? "B" : "A")
        workspace.watch(aliased)
        try workspace.write([
            "inject-secrets.yaml": CLIWorkspace.fileStoreManifest(
                secrets: ["db: { provider: local, id: prod/db }"],
                functions: [
                    "checkout:",
                    "  env: { DB_PASSWORD: \"${secrets.db.password}\" }",
                ]),
            "store.yaml": "prod/db: { current: \"1\", versions: { \"1\": { user: app, password: \"\(anchored)\" } } }\n",
        ])
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        try workspace.write([
            "store.yaml": """
                prod/other:
                  current: "1"
                  versions:
                    "1": { password: &\(anchored) }
                prod/db:
                  current: "1"
                  versions:
                    "1": { user: app, password: *\(aliased) }
                """,
        ])
        for arguments in [["render"], ["render", "--dry-run"], ["drift", "--report", "junit", "drift.xml"], ["exec", "--function", "checkout", "--", "true"]] {
            let (result, channels) = try runEverywhere(arguments)
            XCTAssertEqual(result.status, 3, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("store.yaml:8:33: error:"), "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("in the entry of secret 'prod/db'"), "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("put the value in quotes"), result.stderr)
            XCTAssertFalse(result.stderr.contains("did you mean"), result.stderr)
            XCTAssertTrue(channels["stdout"]!.contains("::error file=store.yaml,line=8,col=33"), "\(arguments): \(channels["stdout"]!)")
            if arguments[0] != "exec" {
                XCTAssertTrue(channels["audit"]!.contains("\"outcome\":\"failed\"") || channels["audit"]!.contains("\"outcome\": \"failed\""), channels["audit"]!)
            }
        }
        XCTAssertTrue(try XCTUnwrap(workspace.read("drift.xml")).contains("<failure"))
    }

    func testAnIdWithANewlineCannotStartAWorkflowCommand() throws {
        let password = workspace.canary("id-db")
        let id = "prod/db\\n::stop-commands::pause\\r::warning::x"
        try workspace.write([
            "inject-secrets.yaml": CLIWorkspace.fileStoreManifest(
                secrets: ["db: { provider: local, id: \"\(id)\" }", "gone: { provider: local, id: \"missing\\n::stop-commands::pause\" }"],
                functions: [
                    "checkout:",
                    "  env: { DB_PASSWORD: \"${secrets.db}\" }",
                    "worker:",
                    "  env: { TOKEN: \"${secrets.gone}\" }",
                ]),
            "store.yaml": "\"\(id)\": { current: \"1\", versions: { \"1\": \"\(password)\" } }\n",
        ])
        func assertNoCommandInjected(_ channels: [String: String], _ what: String) {
            for (name, text) in channels {
                for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
                    XCTAssertFalse(line.hasPrefix("::stop-commands") || line.hasPrefix("::warning"), "\(what): \(name) starts a workflow command: \(line)")
                }
            }
        }
        let (render, renderChannels) = try runEverywhere(["render", "--function", "checkout"])
        XCTAssertEqual(render.status, 0, render.stderr)
        XCTAssertTrue(render.stdout.contains("prod/db\\n::stop-commands::pause\\r::warning::x"), render.stdout)
        assertNoCommandInjected(renderChannels, "render")

        let (failed, failedChannels) = try runEverywhere(["render"])
        XCTAssertEqual(failed.status, 3, failed.stderr)
        XCTAssertTrue(failed.stderr.contains("missing\\n::stop-commands::pause"), failed.stderr)
        assertNoCommandInjected(failedChannels, "failed render")

        let (drift, driftChannels) = try runEverywhere(["drift", "--report", "junit", "ids.xml"])
        XCTAssertNotEqual(drift.status, 0)
        assertNoCommandInjected(driftChannels, "drift")
        for text in [driftChannels["summary"]!, try XCTUnwrap(workspace.read("ids.xml"))] {
            XCTAssertFalse(text.contains("missing\n"), text)
        }
    }

    func testLambdaSizeRefusalNamesVariablesNotByteCountsAndExitsFour() throws {
        let big = workspace.canary("big") + String(repeating: "x", count: 5000)
        workspace.watch(big)
        try workspace.write([
            "inject-secrets.yaml": CLIWorkspace.fileStoreManifest(
                secrets: ["blob: { provider: local, id: blob }", "small: { provider: local, id: small }"],
                functions: [
                    "checkout:",
                    "  env: { BLOB: \"${secrets.blob}\", SMALL: \"${secrets.small}\", LEVEL: info }",
                    "  outputs: [{ format: lambda }, { format: dotenv }]",
                ]),
            "store.yaml": "blob: { current: \"1\", versions: { \"1\": \"\(big)\" } }\nsmall: { current: \"1\", versions: { \"1\": \"tiny-value\" } }\n",
        ])
        let (result, _) = try runEverywhere(["render"])
        XCTAssertEqual(result.status, 4, result.stderr)
        XCTAssertTrue(result.stderr.contains("function 'checkout'"), result.stderr)
        XCTAssertTrue(result.stderr.contains("the largest are 'BLOB', 'SMALL' and 'LEVEL'"), result.stderr)
        XCTAssertTrue(result.stderr.contains("every secret was read (blob (version 1), small (version 1))"), result.stderr)
        XCTAssertTrue(result.stderr.contains("nothing was written"), result.stderr)
        // No figure measured on the values: neither the total nor the value's length.
        for figure in [big.utf8.count, big.utf8.count + 40, 5000] {
            XCTAssertFalse(result.stderr.contains("\(figure)"), result.stderr)
        }
        XCTAssertNil(workspace.read(".build/inject-secrets/checkout.env"), "all or nothing: the dotenv output must not be written")
        XCTAssertNil(workspace.lock)
    }

    func testExecRefusesAValueWithANULAsRenderDoes() throws {
        let password = workspace.canary("nul")
        let ran = workspace.url("ran")
        try workspace.write([
            "inject-secrets.yaml": CLIWorkspace.fileStoreManifest(
                secrets: ["db: { provider: local, id: prod/db }"],
                functions: [
                    "checkout:",
                    "  env: { DB_PASSWORD: \"${secrets.db}\" }",
                ]),
            "store.yaml": "prod/db: { current: \"1\", versions: { \"1\": \"\(password)\\0tail\" } }\n",
        ])
        let render = try workspace.run(["render"])
        XCTAssertEqual(render.status, 4, render.stderr)
        XCTAssertTrue(render.stderr.contains("NUL"), render.stderr)

        let exec = try workspace.run(["exec", "--function", "checkout", "--", "/bin/sh", "-c", "touch '\(ran.path)'"])
        XCTAssertEqual(exec.status, 4, exec.stderr)
        XCTAssertTrue(exec.stderr.contains("inject-secrets.yaml:8:12: error: variable 'DB_PASSWORD' of function 'checkout': the value contains a NUL character"), exec.stderr)
        XCTAssertTrue(exec.stderr.contains("the command was not run"), exec.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ran.path), "the command ran with a cut value")
    }

    func testValidateFailsFastOnAnAliasBombUnderFunctions() throws {
        var lines = ["version: 1", "functions:", "  base: &f0 { env: { A: x } }"]
        // Ten levels of ten aliases: 10^10 nodes once expanded, in under a kilobyte.
        for level in 1...10 {
            lines.append("  f\(level): &f\(level) { env: { A: x }, outputs: [" + Array(repeating: "*f\(level - 1)", count: 10).joined(separator: ", ") + "] }")
        }
        try workspace.write(["inject-secrets.yaml": lines.joined(separator: "\n") + "\n"])
        let start = Date()
        let result = try workspace.run(["validate"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 60, "validate hangs on an alias bomb")
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("inject-secrets.yaml:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("aliases expand the document to more than 100000 nodes"), result.stderr)
    }

    func testValidateFinishesOnThousandsOfUnknownVariables() throws {
        var manifest = "version: 1\nvars:\n"
        for index in 0..<2000 { manifest += "  variable_number_\(index): v\n" }
        manifest += "functions:\n  checkout:\n    env:\n"
        for index in 0..<2000 { manifest += "      K\(index): \"${vars.variable_numbr_\(index)}\"\n" }
        try workspace.write(["inject-secrets.yaml": manifest])
        let start = Date()
        let result = try workspace.run(["validate"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 60, "validate hangs on unknown variables")
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.errorLines.filter { $0.contains("unknown variable 'variable_numbr_") }.count, 2000)
        XCTAssertTrue(result.stderr.contains("did you mean 'variable_number_0'?"), String(result.stderr.prefix(2000)))
    }
}
