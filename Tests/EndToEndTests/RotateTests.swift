import Foundation
import TestSupport
import XCTest

/// `rotate` on the file store: a new version, `current` moved, the stale functions named, and drift then
/// reporting the rotation; no value printed.
final class RotateTests: XCTestCase {
    var workspace: CLIWorkspace!
    var oldPassword = "", oldToken = ""

    override func setUpWithError() throws {
        workspace = try CLIWorkspace("rotate")
        oldPassword = workspace.canary("rot-db")
        oldToken = workspace.canary("rot-token")
        try workspace.copyFixture("shop", values: ["DB_PASSWORD": oldPassword, "API_TOKEN": oldToken])
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
    }

    func drift() throws -> (ProcessResult, [[String: Any]]) {
        let result = try workspace.run(["drift", "--format", "json"])
        let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (result, document?["drift"] as? [[String: Any]] ?? [])
    }

    func testRotateOneFieldFromAFileNamesStaleFunctionsAndDriftReportsIt() throws {
        let newPassword = workspace.canary("rot-db-new")
        let valueFile = try makeTemporaryDirectory("rotate-value").appendingPathComponent("value")
        defer { try? FileManager.default.removeItem(at: valueFile.deletingLastPathComponent()) }
        try Data((newPassword + "\n").utf8).write(to: valueFile)

        let result = try workspace.run(["rotate", "db", "--key", "password", "--value-from-file", valueFile.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("rotated db (prod/db) (field password) in provider 'local': version 2 -> 3"), result.stdout)
        XCTAssertTrue(result.stdout.contains("stale functions: checkout, worker;"), result.stdout)
        XCTAssertFalse(result.stdout.contains("mailer"), result.stdout)

        // The store: version 3 holds the new password and the unchanged user, current moved, the rest kept.
        let store = try XCTUnwrap(workspace.read("store.yaml"))
        XCTAssertTrue(store.contains("\"current\": \"3\""), store)
        XCTAssertTrue(store.contains("\"3\":\n      \"password\": \"\(newPassword)\"\n      \"user\": \"app\""), store)
        XCTAssertTrue(store.contains("\"password\": \"\(oldPassword)\""), store)
        XCTAssertTrue(store.contains("\"v1\": \"\(oldToken)\""), store)

        let (driftResult, drifts) = try drift()
        XCTAssertEqual(driftResult.status, 1)
        XCTAssertEqual(drifts.count, 1, driftResult.stdout)
        XCTAssertEqual(drifts.first?["kind"] as? String, "rotated")
        XCTAssertEqual(drifts.first?["locked"] as? String, "2")
        XCTAssertEqual(drifts.first?["current"] as? String, "3")
        XCTAssertEqual(drifts.first?["functions"] as? [String], ["checkout", "worker"])

        // A render then picks the new value exactly (no trailing newline), and drift is clean.
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        XCTAssertEqual(workspace.read(".build/inject-secrets/worker.env"), "DB_PASSWORD=\"\(newPassword)\"\n")
        XCTAssertEqual(try drift().0.status, 0)
    }

    func testGeneratePlainSecretFromTheJSONReport() throws {
        let result = try workspace.run(["rotate", "token", "--generate", "40", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["previous"] as? String, "v1")
        XCTAssertEqual(report["version"] as? String, "v2")
        XCTAssertEqual(report["stale"] as? [String], ["mailer"])

        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        let rendered = try XCTUnwrap(workspace.read(".build/inject-secrets/mailer.env"))
        let value = rendered.replacingOccurrences(of: "TOKEN=\"", with: "").replacingOccurrences(of: "\"\n", with: "")
        XCTAssertEqual(value.count, 40, rendered)
        XCTAssertTrue(value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }, value)
        XCTAssertFalse(result.stdout.contains(value))
        XCTAssertFalse(result.stderr.contains(value))
    }

    func testStdinAndItsRefusals() throws {
        let newToken = workspace.canary("rot-stdin")
        let piped = try runProcess(
            "/bin/sh", ["-c", "printf %s \"$VALUE\" | \"$TOOL\" rotate token --value-from-file -"],
            environment: scrubbedEnvironment(home: workspace.directory, ["VALUE": newToken, "TOOL": toolExecutable.path]),
            currentDirectory: workspace.directory)
        XCTAssertEqual(piped.status, 0, piped.stderr)
        workspace.assertNoLeaks(in: ["stdout": piped.stdout, "stderr": piped.stderr])
        XCTAssertTrue(workspace.read("store.yaml")!.contains("\"v2\": \"\(newToken)\""))

        // stdin is /dev/null in these runs, as under the plugin.
        let empty = try workspace.run(["rotate", "token", "--value-from-file", "-"])
        XCTAssertEqual(empty.status, 2)
        XCTAssertTrue(empty.stderr.contains("the value is empty"), empty.stderr)
        let plugin = try workspace.run(["rotate", "token", "--value-from-file", "-"], environment: ["INJECT_SECRETS_UNDER_PLUGIN": "1"])
        XCTAssertEqual(plugin.status, 2)
        XCTAssertTrue(plugin.stderr.contains("which the SwiftPM plugin closes"), plugin.stderr)
    }

    func testBadRequestsWriteNothing() throws {
        let store = workspace.read("store.yaml")
        func rejected(_ arguments: [String], _ fragment: String, status: Int32 = 2, line: UInt = #line) throws {
            let result = try workspace.run(["rotate"] + arguments)
            XCTAssertEqual(result.status, status, result.stderr, line: line)
            XCTAssertTrue(result.stderr.contains(fragment), result.stderr, line: line)
            XCTAssertEqual(workspace.read("store.yaml"), store, line: line)
        }
        try rejected(["bd", "--generate", "20"], "no secret named 'bd'")
        try rejected(["db", "--generate", "20"], "is a JSON object; name the field to generate with --key")
        try rejected(["db", "--key", "pasword", "--generate", "20"], "did you mean 'password'?")
        try rejected(["token", "--key", "x", "--generate", "20"], "is plain text, not a JSON object")
        try rejected(["token"], "give the new value with --value-from-file PATH or --generate N")
        try rejected(["token", "--generate", "3"], "--generate takes a length from 8")
        try rejected(["token", "--value-from-file", "/no/such/file"], "cannot read /no/such/file")

        // The field's value unchanged is refused as the whole value unchanged is.
        let same = workspace.url("same.txt")
        try Data("\(oldPassword)\n".utf8).write(to: same)
        try rejected(["db", "--key", "password", "--value-from-file", same.path], "the new value of field 'password' of secret 'db' is the same as the current one; nothing was written")
        try Data("\(oldToken)\n".utf8).write(to: same)
        try rejected(["token", "--value-from-file", same.path], "is the same as the current one; nothing was written")
    }

    /// A JSON secret written as JSON text keeps its numbers, booleans and null through a rotation of one
    /// field: the rendered JSON is the old one with that field changed.
    func testRotateKeepsJSONTypes() throws {
        let password = workspace.canary("typed")
        try workspace.write([
            "inject-secrets.yaml": CLIWorkspace.fileStoreManifest(
                secrets: ["cfg: { provider: local, id: cfg }"],
                functions: ["app:", "  env: { CFG: \"${secrets.cfg}\", PORT: \"${secrets.cfg.port}\" }", "  outputs: [{ format: json }]"]),
            "store.yaml": """
                cfg:
                  current: "1"
                  versions:
                    "1": '{"port": 5432, "ratio": 1.5e3, "tls": true, "proxy": null, "hosts": ["a", 2], "password": "old"}'
                """,
        ])
        let valueFile = workspace.url("new.txt")
        try Data(password.utf8).write(to: valueFile)
        let result = try workspace.run(["rotate", "cfg", "--key", "password", "--value-from-file", valueFile.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        let output = try XCTUnwrap(workspace.bytes(".build/inject-secrets/app.json"))
        let rendered = try XCTUnwrap(JSONSerialization.jsonObject(with: output) as? [String: String])
        let config = try XCTUnwrap(rendered["CFG"])
        // Every JSON type as it was, number texts exactly as written; only the field changed.
        XCTAssertEqual(config, #"{"hosts":["a",2],"password":"\#(password)","port":5432,"proxy":null,"ratio":1.5e3,"tls":true}"#)
        XCTAssertEqual(rendered["PORT"], "5432")
    }
}
