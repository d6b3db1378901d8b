import Foundation
import TestSupport
import XCTest

/// `exec`: one function's environment goes to a child process and nowhere else.
final class ExecTests: XCTestCase {
    var workspace: CLIWorkspace!
    var password = "", token = ""
    /// Where the child writes what it saw: outside the workspace, so no scan mistakes it for a leak.
    var seen: URL!

    override func setUpWithError() throws {
        workspace = try CLIWorkspace("exec")
        password = workspace.canary("exec-db")
        token = workspace.canary("exec-token")
        seen = try makeTemporaryDirectory("exec-seen").appendingPathComponent("seen.txt")
        try workspace.write([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  local: { type: file, path: store.yaml }
                secrets:
                  db: { provider: local, id: prod/db }
                  token: { provider: local, id: api-token }
                functions:
                  checkout:
                    env:
                      DB_PASSWORD: ${secrets.db.password}
                      SHARED: from-manifest
                    outputs: [{ format: dotenv }, { format: lambda }]
                  mailer:
                    env: { TOKEN: "${secrets.token}" }
                """,
            "store.yaml": """
                prod/db:
                  current: "2"
                  versions:
                    "2": { password: "\(password)" }
                api-token:
                  current: v1
                  versions: { v1: "\(token)" }
                """,
        ])
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: seen.deletingLastPathComponent())
    }

    /// Every file of the workspace, to show that exec wrote nothing.
    var files: [String] { filesBelow(workspace.directory).keys.sorted() }

    func testPassesTheEnvironmentToTheChildAndItsExitCodeBack() throws {
        let before = files
        let script = #"printf '%s|%s|%s|%s' "$DB_PASSWORD" "$SHARED" "$KEEP_ME" "${TOKEN:-none}" > "$SEEN"; exit 7"#
        let result = try workspace.run(
            ["exec", "--function", "checkout", "--", "sh", "-c", script],
            environment: ["SEEN": seen.path, "KEEP_ME": "kept", "SHARED": "from-parent", "INJECT_SECRETS_NO_PROGRESS": "1"])
        XCTAssertEqual(result.status, 7, result.stderr)
        // The manifest's value wins over the parent's; the parent's other variables stay; the command
        // sees only the function's own secrets.
        XCTAssertEqual(try String(contentsOf: seen, encoding: .utf8), "\(password)|from-manifest|kept|none")
        XCTAssertEqual(files, before, "exec must write no output, lock or record")
        XCTAssertNil(workspace.lock)

        let zero = try workspace.run(["exec", "--function", "mailer", "--", "sh", "-c", #"printf %s "$TOKEN" > "$SEEN""#], environment: ["SEEN": seen.path])
        XCTAssertEqual(zero.status, 0, zero.stderr)
        XCTAssertEqual(try String(contentsOf: seen, encoding: .utf8), token)
        XCTAssertEqual(files, before)
    }

    func testSignalDeathIs128PlusN() throws {
        let result = try workspace.run(["exec", "--function", "mailer", "--", "sh", "-c", "kill -TERM $$"])
        XCTAssertEqual(result.status, 128 + 15, result.stderr)
    }

    func testForwardsSIGTERMSIGINTAndSIGHUPToTheChild() throws {
        for (signal, name) in [(SIGTERM, "TERM"), (SIGINT, "INT"), (SIGHUP, "HUP")] {
            try FileManager.default.removeItem(at: seen.deletingLastPathComponent())
            try FileManager.default.createDirectory(at: seen.deletingLastPathComponent(), withIntermediateDirectories: true)
            try assertForwards(signal, name)
        }
    }

    func assertForwards(_ signal: Int32, _ name: String, line: UInt = #line) throws {
        let ready = seen.deletingLastPathComponent().appendingPathComponent("ready")
        let process = toolProcess(
            [
                "exec", "--function", "mailer", "--", "sh", "-c",
                "trap 'echo forwarded > \"$SEEN\"; exit 5' \(name); touch \"$READY\"; while :; do sleep 0.1; done",
            ], in: workspace.directory, environment: ["SEEN": seen.path, "READY": ready.path])
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: ready.path) && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: ready.path), "the child never started")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 5, "SIG\(name)", line: line)
        XCTAssertEqual(try? String(contentsOf: seen, encoding: .utf8), "forwarded\n", "SIG\(name)", line: line)
    }

    func testFailuresStopBeforeTheChildStarts() throws {
        let marker = #"touch "$SEEN""#
        // A store failure: exit 3, the child never runs.
        try workspace.write(["store.yaml": "prod/db: { current: \"9\", versions: {} }\napi-token: { current: v1, versions: { v1: x } }\n"])
        let store = try workspace.run(["exec", "--function", "checkout", "--", "sh", "-c", marker], environment: ["SEEN": seen.path])
        XCTAssertEqual(store.status, 3, store.stderr)
        XCTAssertTrue(store.stderr.contains("secret 'db' (provider 'local'): reading prod/db in store.yaml: version '9' not found"), store.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: seen.path))

        // Bad input: exit 2.
        let unknown = try workspace.run(["exec", "--function", "chekout", "--", "sh", "-c", marker], environment: ["SEEN": seen.path])
        XCTAssertEqual(unknown.status, 2, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("did you mean 'checkout'?"), unknown.stderr)
        let noCommand = try workspace.run(["exec", "--function", "checkout"])
        XCTAssertEqual(noCommand.status, 2, noCommand.stderr)
        XCTAssertTrue(noCommand.stderr.contains("name the command to run after '--'"), noCommand.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: seen.path))
        XCTAssertNil(workspace.lock)
    }

    func testMissingCommandIs127() throws {
        let result = try workspace.run(["exec", "--function", "mailer", "--", "no-such-command-\(UUID().uuidString.prefix(6))"])
        XCTAssertEqual(result.status, 127, result.stderr)
        XCTAssertTrue(result.stderr.contains("command not found"), result.stderr)
    }

    func testLockedUsesTheLockedVersion() throws {
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        let newer = workspace.canary("exec-db-3")
        try workspace.write(["store.yaml": workspace.read("store.yaml")!.replacingOccurrences(of: "current: \"2\"", with: "current: \"3\"")
            .replacingOccurrences(of: "    \"2\": {", with: "    \"3\": { password: \"\(newer)\" }\n    \"2\": {")])
        let script = #"printf %s "$DB_PASSWORD" > "$SEEN""#
        XCTAssertEqual(try workspace.run(["exec", "--locked", "--function", "checkout", "--", "sh", "-c", script], environment: ["SEEN": seen.path]).status, 0)
        XCTAssertEqual(try String(contentsOf: seen, encoding: .utf8), password)
        XCTAssertEqual(try workspace.run(["exec", "--function", "checkout", "--", "sh", "-c", script], environment: ["SEEN": seen.path]).status, 0)
        XCTAssertEqual(try String(contentsOf: seen, encoding: .utf8), newer)
    }
}

extension ExecTests {
    /// exec's reads are audited like render's when asked, under their own operation, without values.
    func testAuditLogRecordsExecReads() throws {
        let log = seen.deletingLastPathComponent().appendingPathComponent("audit.jsonl")
        let result = try workspace.run(["exec", "--function", "mailer", "--audit-log", log.path, "--", "true"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertTrue(text.contains("\"exec\""), text)
        XCTAssertTrue(text.contains("\"token\""), text)
        XCTAssertFalse(text.contains(token))
        XCTAssertFalse(text.contains(password))
    }
}
