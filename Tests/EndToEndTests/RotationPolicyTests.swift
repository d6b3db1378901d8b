import Foundation
import TestSupport
import XCTest

/// The rotation policy on the file store through the executable: `created:` dates judged against
/// `every` and `warn`, `none`, a pinned version, a version without a date, and what each channel shows
/// (text, JSON, JUnit, GitHub annotations and step summary), none of them holding a value.
final class RotationPolicyTests: XCTestCase {
    var workspace: CLIWorkspace!
    var summary: URL!

    override func setUpWithError() throws {
        workspace = try CLIWorkspace("rotation-policy")
        summary = workspace.url("summary.md")
    }

    static func stamp(daysAgo days: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSinceNow: -days * 86_400))
    }

    func project() throws {
        let db1 = workspace.canary("db-1"), db2 = workspace.canary("db-2"), token = workspace.canary("token")
        let pem = workspace.canary("pem"), nodate = workspace.canary("nodate")
        try workspace.write([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  local: { type: file, path: store.yaml }
                defaults:
                  rotation: { every: 90d, warn: 14d }
                secrets:
                  db: { provider: local, id: prod/db, rotation: { every: 30d } }
                  legacy: { provider: local, id: prod/db, version: "1" }
                  token: { provider: local, id: app/token, rotation: { every: 30d } }
                  pem: { provider: local, id: tls/key, rotation: none }
                  nodate: { provider: local, id: app/nodate }
                functions:
                  checkout:
                    env: { DB: "${secrets.db}", OLD: "${secrets.legacy}", TOKEN: "${secrets.token}" }
                  worker:
                    env: { PEM: "${secrets.pem}", OTHER: "${secrets.nodate}", DB: "${secrets.db}" }
                """,
            "store.yaml": """
                prod/db:
                  current: "2"
                  versions: { "1": "\(db1)", "2": "\(db2)" }
                  created: { "1": "\(Self.stamp(daysAgo: 200))", "2": "\(Self.stamp(daysAgo: 45.5))" }
                app/token:
                  current: "1"
                  versions: { "1": "\(token)" }
                  created: { "1": "\(Self.stamp(daysAgo: 20))" }
                tls/key:
                  current: "1"
                  versions: { "1": "\(pem)" }
                  created: { "1": "\(Self.stamp(daysAgo: 900))" }
                app/nodate:
                  current: "1"
                  versions: { "1": "\(nodate)" }

                """,
        ])
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
    }

    func testOverdueWarnPinnedNoneAndNoDateInEveryChannel() throws {
        try project()
        let junit = workspace.url("drift.xml")
        let github = ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary.path, "GITHUB_WORKSPACE": workspace.directory.path]
        let text = try workspace.run(["drift", "--report", "junit", junit.path], environment: github)
        XCTAssertEqual(text.status, 1, text.stderr)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        let overdue = lines.filter { $0.hasPrefix("rotation-overdue: ") }
        XCTAssertEqual(overdue.count, 2, text.stdout)
        XCTAssertTrue(overdue.contains {
            $0.hasPrefix("rotation-overdue: db (prod/db) version 2 was created 45 days ago (") && $0.contains("past its rotation limit of 30d")
                && $0.hasSuffix("[functions: checkout, worker]")
        }, text.stdout)
        XCTAssertTrue(overdue.contains {
            $0.hasPrefix("rotation-overdue: legacy (prod/db) version 1 was created 200 days ago") && $0.contains("limit of 90d")
        }, text.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("note: token (app/token) version 1 is 20 days old; its rotation limit of 30d comes in 10 days") }, text.stdout)
        XCTAssertTrue(lines.contains("note: nodate (app/nodate): the store gives no creation date for version 1, so its rotation age is not checked"), text.stdout)
        XCTAssertFalse(text.stdout.contains("pem (tls/key)"), "rotation: none opts out of the defaults")

        // GitHub: an annotation on each secret's line, a row each in the step summary.
        XCTAssertTrue(lines.contains { $0.hasPrefix("::error file=inject-secrets.yaml,line=7,col=3,title=inject-secrets%3A rotation-overdue::db (prod/db) version 2 was created 45 days ago") }, text.stdout)
        let table = try String(contentsOf: summary, encoding: .utf8)
        XCTAssertTrue(table.contains("| rotation-overdue | legacy | checkout | legacy (prod/db) version 1 was created 200 days ago"), table)
        let (failures, cases) = try junitFailures(junit)
        XCTAssertEqual(failures["db"], ["rotation-overdue"])
        XCTAssertEqual(failures["legacy"], ["rotation-overdue"])
        XCTAssertTrue(cases.contains("token") && failures["token"] == nil)
        XCTAssertTrue(try String(contentsOf: junit, encoding: .utf8).contains("45 days ago"))
        workspace.assertNoLeaks(in: ["junit": try String(contentsOf: junit, encoding: .utf8), "summary": table])

        let json = try workspace.run(["drift", "--format", "json"])
        XCTAssertEqual(json.status, 1)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let entries = try XCTUnwrap(document["drift"] as? [[String: Any]])
        let db = try XCTUnwrap(entries.first { $0["secret"] as? String == "db" })
        XCTAssertEqual(db["kind"] as? String, "rotation-overdue")
        XCTAssertEqual(db["age"] as? Int, 45)
        XCTAssertEqual(db["limit"] as? String, "30d")
        XCTAssertEqual(db["current"] as? String, "2")
        XCTAssertEqual(entries.first { $0["secret"] as? String == "legacy" }?["age"] as? Int, 200)
    }

    /// `rotate` dates the version it writes, so the secret is no longer overdue, only rotated.
    func testRotateWritesTheCreatedDateThatDriftJudges() throws {
        try project()
        XCTAssertEqual(try workspace.run(["rotate", "db", "--generate", "24"]).status, 0)
        XCTAssertTrue(workspace.read("store.yaml")!.contains("\"created\":"), workspace.read("store.yaml")!)
        let drift = try workspace.run(["drift", "--format", "json"])
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(drift.stdout.utf8)) as? [String: Any])
        let kinds = (document["drift"] as? [[String: Any]] ?? []).filter { $0["secret"] as? String == "db" }.compactMap { $0["kind"] as? String }
        XCTAssertEqual(kinds, ["rotated"], drift.stdout)
    }

    func testAMalformedCreatedDateIsALocatedStoreError() throws {
        try project()
        var lines = workspace.read("store.yaml")!.components(separatedBy: "\n")
        XCTAssertTrue(lines[7].hasPrefix("  created: "), lines[7])
        lines[7] = "  created: { \"1\": \"yesterday\" }"
        try workspace.write(["store.yaml": lines.joined(separator: "\n")])
        let drift = try workspace.run(["drift"])
        XCTAssertEqual(drift.status, 3, drift.stderr)
        XCTAssertTrue(drift.stderr.contains("store.yaml:8:") && drift.stderr.contains("must be an RFC 3339 time"), drift.stderr)
    }

    func testValidateLocatesABadDuration() throws {
        try project()
        try workspace.write(["inject-secrets.yaml": workspace.read("inject-secrets.yaml")!.replacingOccurrences(of: "rotation: { every: 30d } }\n  legacy", with: "rotation: { every: 30 days } }\n  legacy")])
        let result = try workspace.run(["validate"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("inject-secrets.yaml:7:58: error: 'every' of 'rotation' of secret 'db' must be a whole number of days or hours, such as 30d or 12h, found '30 days'"), result.stderr)
    }

    func junitFailures(_ path: URL) throws -> ([String: [String]], Set<String>) {
        let script = """
            import json, sys, xml.etree.ElementTree as ET
            suite = ET.parse(sys.argv[1]).getroot().find('testsuite')
            cases = {c.get('name'): [f.get('type') for f in c.findall('failure')] for c in suite.findall('testcase')}
            print(json.dumps(cases))
            """
        let result = try runProcess("python3", ["-c", script, path.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let cases = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [String]])
        return (cases.filter { !$0.value.isEmpty }, Set(cases.keys))
    }
}
