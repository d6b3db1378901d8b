import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Real signals at random moments of a 1,000-output render, kill -9 and recovery, and two runs on one
/// manifest at once. Through the built executable.
final class InterruptionTests: XCTestCase {
    var workspace: CLIWorkspace!
    let functionCount = 1_000

    override func setUpWithError() throws {
        workspace = try CLIWorkspace("interrupt")
    }

    // MARK: Project

    /// `functionCount` functions, each writing `out/fnN.env` from `db`.
    func project(value: String) throws {
        try workspace.write(["inject-secrets.yaml": CLIWorkspace.fanOutManifest(functions: functionCount)])
        try rotate(to: 1, values: ["1": value])
    }

    /// Makes `version` the store's current version, keeping every earlier one (so drift after an undone
    /// commit sees a rotation, not a vanished version).
    func rotate(to version: Int, values: [String: String]) throws {
        var text = "prod/db:\n  current: \"\(version)\"\n  versions:\n"
        for (key, value) in values.sorted(by: { $0.key < $1.key }) { text += "    \"\(key)\": \(value)\n" }
        try workspace.write(["store.yaml": text])
    }

    /// A run in the background, its output in files.
    struct Running {
        let process: Process
        let stdout: URL, stderr: URL

        func wait() -> (reason: Process.TerminationReason, status: Int32, stdout: String, stderr: String) {
            process.waitUntilExit()
            let read = { (url: URL) in (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
            return (process.terminationReason, process.terminationStatus, read(stdout), read(stderr))
        }
    }

    func launch(_ arguments: [String]) throws -> Running {
        let process = toolProcess(arguments, in: workspace.directory, environment: ["INJECT_SECRETS_NO_PROGRESS": "1"])
        let id = UUID().uuidString.prefix(8)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("is-\(id).out")
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("is-\(id).err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        return Running(process: process, stdout: out, stderr: err)
    }

    /// The version the lock records for `db`.
    func lockedVersion() throws -> String {
        let lock = try XCTUnwrap(workspace.lock)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lock.utf8)) as? [String: Any])
        let secrets = try XCTUnwrap(json["secrets"] as? [String: [String: Any]])
        return try XCTUnwrap(secrets["db"]?["version"] as? String)
    }

    /// Every output holds the value of the locked version, the render record agrees (drift finds no
    /// output drift), and nothing a commit makes is left.
    func assertConsistent(values: [String: String], context: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(debris(in: workspace.directory), [], "debris after \(context)", file: file, line: line)
        let version = try lockedVersion()
        let expected = "DB=\"\(try XCTUnwrap(values[version]))\"\n"
        var wrong: [String] = []
        for index in 0..<functionCount where workspace.read("out/fn\(index).env") != expected { wrong.append("fn\(index)") }
        XCTAssertEqual(wrong.count, 0, "after \(context), outputs disagree with the lock (version \(version)): \(wrong.prefix(5))", file: file, line: line)
        let drift = try workspace.run(["drift", "--format", "json"], file: file, line: line)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(drift.stdout.utf8)) as? [String: Any], drift.stderr, file: file, line: line)
        let kinds = Set(((report["drift"] as? [[String: Any]]) ?? []).compactMap { $0["kind"] as? String })
        XCTAssertTrue(kinds.isSubset(of: ["rotated"]), "after \(context), drift found \(kinds): \(drift.stdout.prefix(600))", file: file, line: line)
    }

    /// Moves the store on to a new version with a new canary value.
    func rotateToNext(_ values: inout [String: String], _ version: inout Int) throws {
        version += 1
        values[String(version)] = workspace.canary("v\(version)")
        try rotate(to: version, values: values)
    }

    /// Starts a render (with an audit log) and sends it `signal` at a random moment of the next
    /// `duration` seconds; no canary may reach its stdout, stderr, audit log, lock or record.
    func renderSignalled(_ signal: Int32, within duration: TimeInterval) throws -> (reason: Process.TerminationReason, status: Int32, stdout: String, stderr: String) {
        let run = try launch(["render", "--audit-log", "audit.log"])
        usleep(UInt32(Double.random(in: 0.01...duration) * 1_000_000))
        kill(run.process.processIdentifier, signal)
        let result = run.wait()
        workspace.assertNoLeaks(in: ["stdout": result.stdout, "stderr": result.stderr, "audit.log": workspace.read("audit.log") ?? ""])
        return result
    }

    /// How long one full re-render takes here, to spread the signals over it.
    func measureRender(values: inout [String: String], version: inout Int) throws -> TimeInterval {
        try rotateToNext(&values, &version)
        let started = Date()
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        return Date().timeIntervalSince(started)
    }

    // MARK: Signals

    /// SIGTERM, SIGINT and SIGHUP at random moments (startup, store read, writing the temporaries, the
    /// renames): the run exits 128+N or finishes, leaves no temporary file, backup or journal, and the
    /// outputs, lock and record agree; the next render brings everything up to date.
    func testStopSignalsAtRandomMomentsLeaveOutputsLockAndRecordConsistent() throws {
        var values: [String: String] = [:], version = 1
        values["1"] = workspace.canary("v1")
        try project(value: values["1"]!)
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        let duration = try measureRender(values: &values, version: &version)

        var outcomes: [String: Int] = [:]
        for trial in 0..<20 {
            let signal = [SIGTERM, SIGINT, SIGHUP][trial % 3]
            try rotateToNext(&values, &version)
            let result = try renderSignalled(signal, within: duration * 1.2)
            switch (result.reason, result.status) {
            case (.exit, 0):
                outcomes["finished", default: 0] += 1
            case (.exit, 128 + signal):
                outcomes["stopped", default: 0] += 1
                XCTAssertTrue(result.stderr.contains("stopped by SIG"), result.stderr)
            case (.uncaughtSignal, signal):
                // Before the handlers are installed (the first milliseconds) the default action applies.
                outcomes["killed at startup", default: 0] += 1
            default:
                XCTFail("trial \(trial): render ended with \(result.reason.rawValue)/\(result.status): \(result.stderr)")
            }
            try assertConsistent(values: values, context: "signal \(signal) in trial \(trial)")

            XCTAssertEqual(try workspace.run(["render"]).status, 0)
            XCTAssertEqual(try lockedVersion(), String(version))
            XCTAssertEqual(try workspace.run(["drift"]).status, 0, "drift is clean after the next render")
        }
        print("stop signals over \(String(format: "%.2f", duration)) s renders: \(outcomes)")
    }

    /// kill -9 at random moments: the next run (drift in odd trials, else render) finds what the killed
    /// run left, says so, undoes or finishes it; render then leaves everything consistent and drift clean.
    func testKillNineAtRandomMomentsIsRecoveredByTheNextRender() throws {
        var values: [String: String] = [:], version = 1
        values["1"] = workspace.canary("v1")
        try project(value: values["1"]!)
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        let duration = try measureRender(values: &values, version: &version)

        var interruptedCommits = 0
        for trial in 0..<15 {
            try rotateToNext(&values, &version)
            _ = try renderSignalled(SIGKILL, within: duration * 1.1)
            let journalLeft = FileManager.default.fileExists(atPath: workspace.url(".inject-secrets-commit").path)
            if journalLeft { interruptedCommits += 1 }

            if trial % 2 == 1 {
                let drift = try workspace.run(["drift"])
                XCTAssertTrue([0, 1].contains(drift.status), drift.stderr)
                XCTAssertEqual(
                    drift.stderr.contains("note: a previous run was interrupted"), journalLeft,
                    "trial \(trial): drift notes exactly an interrupted commit: \(drift.stderr)")
                XCTAssertEqual(debris(in: workspace.directory), [], "drift removed what the killed run left")
            }
            let next = try workspace.run(["render"])
            XCTAssertEqual(next.status, 0, next.stderr)
            XCTAssertEqual(
                next.stderr.contains("note: a previous run was interrupted"), journalLeft && trial % 2 == 0,
                "trial \(trial): the note appears exactly when a commit was interrupted: \(next.stderr)")
            XCTAssertEqual(try lockedVersion(), String(version))
            try assertConsistent(values: values, context: "kill -9 in trial \(trial) and the next render")
            XCTAssertEqual(try workspace.run(["drift"]).status, 0)
        }
        print("kill -9: \(interruptedCommits) of 15 trials interrupted a commit")
    }

    // MARK: Concurrency

    /// Two renders of different functions at once: each reads the lock, adds its function's secret and
    /// writes it back. Without the run lock one update was lost in most trials.
    func testTwoRendersAtOnceLoseNoUpdate() throws {
        func manifestAndStore(_ version: Int) -> [String: String] {
            [
                "inject-secrets.yaml": """
                    version: 1
                    providers:
                      local: { type: file, path: store.yaml }
                    secrets:
                      a: { provider: local, id: a }
                      b: { provider: local, id: b }
                    defaults:
                      output-dir: out
                      outputs: [{ format: dotenv }]
                    functions:
                      fa:
                        env: { A: "${secrets.a}" }
                      fb:
                        env: { B: "${secrets.b}" }
                    """,
                "store.yaml": """
                    a:
                      current: "\(version)"
                      versions:
                        "\(version)": \(workspace.canary("a\(version)"))
                    b:
                      current: "\(version)"
                      versions:
                        "\(version)": \(workspace.canary("b\(version)"))
                    """,
            ]
        }
        try workspace.write(manifestAndStore(1))
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        for trial in 2...11 {
            try workspace.write(manifestAndStore(trial))
            let first = try launch(["render", "--function", "fa"]), second = try launch(["render", "--function", "fb"])
            for result in [first.wait(), second.wait()] {
                XCTAssertEqual(result.status, 0, result.stderr)
                workspace.assertNoLeaks(in: ["stdout": result.stdout, "stderr": result.stderr])
            }
            let lock = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(workspace.lock).utf8)) as? [String: Any])
            let secrets = try XCTUnwrap(lock["secrets"] as? [String: [String: Any]])
            XCTAssertEqual(secrets["a"]?["version"] as? String, String(trial), "trial \(trial): a's update was lost")
            XCTAssertEqual(secrets["b"]?["version"] as? String, String(trial), "trial \(trial): b's update was lost")
            XCTAssertEqual(try workspace.run(["drift"]).status, 0)
        }
    }

    /// A run that finds the run lock held says it waits, and fails with exit 5 after --lock-wait; one
    /// that gets the lock within the wait goes on.
    func testASecondRunWaitsWithAMessageThenFailsAfterTheBound() throws {
        try project(value: workspace.canary("wait"))
        let fd = open(workspace.url(".inject-secrets.flock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(flock(fd, LOCK_EX), 0)

        let started = Date()
        let blocked = try workspace.run(["render", "--lock-wait", "2"])
        let waited = Date().timeIntervalSince(started)
        XCTAssertEqual(blocked.status, 5, blocked.stderr)
        XCTAssertTrue(blocked.stderr.contains("another inject-secrets run holds .inject-secrets.flock; waiting up to 2 s"), blocked.stderr)
        XCTAssertTrue(blocked.stderr.contains("error: another inject-secrets run still holds .inject-secrets.flock after 2 s"), blocked.stderr)
        XCTAssertGreaterThanOrEqual(waited, 2)
        XCTAssertLessThan(waited, 60)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.url("out").path), "nothing was written")
        XCTAssertNil(workspace.lock)

        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { close(fd) }
        let waiting = try workspace.run(["render", "--lock-wait", "60"])
        XCTAssertEqual(waiting.status, 0, waiting.stderr)
        XCTAssertTrue(waiting.stderr.contains("waiting up to 60 s"), waiting.stderr)
        XCTAssertEqual(try workspace.run(["drift"]).status, 0)
    }
}
