import Foundation
import TestSupport
import XCTest

/// GitHub annotations and step summary, JUnit reports, completion scripts.
final class CIReportTests: XCTestCase {
    var workspace: CLIWorkspace!
    var summary: URL!
    var password = ""

    override func setUpWithError() throws {
        workspace = try CLIWorkspace("ci")
        password = workspace.canary("ci-db")
        summary = workspace.directory.appendingPathComponent("summary.md")
        try workspace.write([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  local: { type: file, path: store.yaml }
                secrets:
                  db: { provider: local, id: prod/db }
                functions:
                  checkout:
                    env: { DB_PASSWORD: "${secrets.db}" }
                    outputs: [{ format: dotenv }, { format: json }]
                  worker:
                    env: { DB_PASSWORD: "${secrets.db}", PLAIN: "a<b & 'c'" }
                """,
            "store.yaml": "prod/db: { current: \"2\", versions: { \"2\": \"\(password)\", \"3\": \"\(password)-3\" } }\n",
        ])
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        // Rotate by hand and edit one output: two kinds of drift.
        try workspace.write(["store.yaml": workspace.read("store.yaml")!.replacingOccurrences(of: "current: \"2\"", with: "current: \"3\"")])
        try Data("DB_PASSWORD=edited\n".utf8).write(to: workspace.url(".build/inject-secrets/worker.env"))
    }

    var github: [String: String] {
        ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary.path, "GITHUB_WORKSPACE": workspace.directory.path]
    }

    func testGitHubAnnotationsAndStepSummaryForDrift() throws {
        let result = try workspace.run(["drift"], environment: github)
        XCTAssertEqual(result.status, 1, result.stderr)
        let commands = result.stdout.split(separator: "\n").filter { $0.hasPrefix("::error ") }
        XCTAssertEqual(commands.count, 2, result.stdout)
        // The secret's declaration line; ':' in the title and ',' in properties escaped; the message whole.
        XCTAssertTrue(commands.contains {
            $0.hasPrefix("::error file=inject-secrets.yaml,line=5,col=3,title=inject-secrets%3A rotated::db (prod/db) rotated: locked 2, current 3 [functions: checkout, worker]")
        }, result.stdout)
        XCTAssertTrue(commands.contains {
            $0.hasPrefix("::error file=inject-secrets.yaml,line=10,col=") && $0.contains("title=inject-secrets%3A output-modified::.build/inject-secrets/worker.env")
        }, result.stdout)

        let table = try String(contentsOf: summary, encoding: .utf8)
        XCTAssertTrue(table.contains("| kind | secret/output | functions | message |"), table)
        XCTAssertTrue(table.contains("| rotated | db | checkout, worker | db (prod/db) rotated: locked 2, current 3 |"), table)
        XCTAssertTrue(table.contains("| output-modified | .build/inject-secrets/worker.env | worker |"), table)

        // Appended, not replaced; nothing without the variable.
        XCTAssertEqual(try workspace.run(["drift"], environment: github).status, 1)
        XCTAssertEqual(try String(contentsOf: summary, encoding: .utf8).components(separatedBy: "| kind |").count, 3)
        // No secret value in any message: the summary holds none.
        XCTAssertFalse(try String(contentsOf: summary, encoding: .utf8).contains(password))
        let plain = try workspace.run(["drift"], environment: ["GITHUB_ACTIONS": ""])
        XCTAssertFalse(plain.stdout.contains("::error"), plain.stdout)
    }

    /// A fleet's worth of drift: GitHub shows 10 error annotations a step and drops a step summary over
    /// 1 MiB, so the 10th annotation counts the rest and the table is cut with a line that says so,
    /// while the JUnit report keeps every finding.
    func testFleetDriftStaysWithinGitHubsAnnotationAndSummaryLimits() throws {
        let secrets = 15
        let functions = (0..<700).map { "fn-\($0)-" + String(repeating: "x", count: 50) }
        var store = ""
        var manifest = "version: 1\nproviders:\n  local: { type: file, path: store.yaml }\nsecrets:\n"
        for index in 0..<secrets {
            manifest += "  s\(index): { provider: local, id: fleet/s\(index) }\n"
            store += "fleet/s\(index): { current: \"1\", versions: { \"1\": \"\(password)-\(index)\", \"2\": \"\(password)-\(index)b\" } }\n"
        }
        let env = (0..<secrets).map { "S\($0): \"${secrets.s\($0)}\"" }.joined(separator: ", ")
        manifest += "functions:\n" + functions.map { "  \($0): { env: { \(env) } }\n" }.joined()
        try workspace.write(["inject-secrets.yaml": manifest, "store.yaml": store])
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        try workspace.write(["store.yaml": store.replacingOccurrences(of: "current: \"1\"", with: "current: \"2\"")])

        let report = workspace.url("fleet.xml")
        let result = try workspace.run(["drift", "--report", "junit", report.path], environment: github)
        XCTAssertEqual(result.status, 1, result.stderr)
        let commands = result.stdout.split(separator: "\n").filter { $0.hasPrefix("::error ") }
        XCTAssertEqual(commands.count, 10, result.stdout)
        XCTAssertEqual(commands.prefix(9).filter { $0.contains("title=inject-secrets%3A rotated::") }.count, 9)
        XCTAssertTrue(commands[9].hasPrefix(
            "::error title=inject-secrets::6 more findings not annotated (GitHub shows 10 a step); all 15 are in the command's output"),
            String(commands[9]))

        let summaryData = try Data(contentsOf: summary)
        XCTAssertLessThan(summaryData.count, 1024 * 1024)
        let table = String(decoding: summaryData, as: UTF8.self)
        let rows = table.split(separator: "\n").filter { $0.hasPrefix("| rotated | ") }.count
        XCTAssertGreaterThan(rows, 0)
        XCTAssertLessThan(rows, secrets, "700 functions of about 56 characters in each of 15 rows pass the cap")
        XCTAssertTrue(table.contains("**Cut here: \(secrets - rows) more rows would pass GitHub's 1 MiB step summary limit;**"), String(table.suffix(400)))
        XCTAssertFalse(table.contains(password))

        let (tests, failures, cases) = try parseJUnit(report)
        XCTAssertEqual(failures, secrets, "JUnit keeps every finding")
        XCTAssertGreaterThanOrEqual(tests, secrets)
        for index in 0..<secrets { XCTAssertEqual(cases["s\(index)"], ["rotated"]) }
        XCTAssertFalse(try String(contentsOf: report, encoding: .utf8).contains(password))

        // A second run in the same step appends, and the file as a whole stays under 1 MiB.
        XCTAssertEqual(try workspace.run(["drift"], environment: github).status, 1)
        let both = try Data(contentsOf: summary)
        XCTAssertGreaterThan(both.count, summaryData.count)
        XCTAssertLessThan(both.count, 1024 * 1024)
        XCTAssertEqual(String(decoding: both, as: UTF8.self).components(separatedBy: "**Cut here: ").count, 3)
    }

    func testGitHubAnnotationsForManifestErrors() throws {
        try workspace.write(["inject-secrets.yaml": workspace.read("inject-secrets.yaml")!.replacingOccurrences(of: "provider: local", with: "provider: lokal")])
        let result = try workspace.run(["validate"], environment: github)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stdout.contains(
            "::error file=inject-secrets.yaml,line=5,col=19,title=inject-secrets::secret 'db' names unknown provider 'lokal'; did you mean 'local'?"), result.stdout)
        let table = try String(contentsOf: summary, encoding: .utf8)
        XCTAssertTrue(table.contains("### inject-secrets validate failed"), table)
        XCTAssertTrue(table.contains("| error | inject-secrets.yaml:5:19 |   | secret 'db' names unknown provider 'lokal'"), table)
    }

    func testEscapingFollowsTheToolkit() throws {
        // Through a manifest path holding the characters the toolkit escapes.
        let odd = "odd,dir:100%"
        try FileManager.default.createDirectory(at: workspace.url(odd), withIntermediateDirectories: true)
        try workspace.write(["\(odd)/inject-secrets.yaml": "version: 1\nfunctions:\n  f: { env: { A: \"${vars.nope}\" } }\n"])
        let result = try workspace.run(["validate", "--manifest", workspace.url("\(odd)/inject-secrets.yaml").path], environment: github)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stdout.contains("::error file=odd%2Cdir%3A100%25/inject-secrets.yaml,line=3,col="), result.stdout)
    }

    /// Parses a JUnit file with python3's xml.etree and returns (tests, failures, [name: [failure types]]).
    func parseJUnit(_ path: URL) throws -> (Int, Int, [String: [String]]) {
        let script = """
            import json, sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.argv[1]).getroot()
            suite = root.find('testsuite')
            cases = {c.get('name'): [f.get('type') for f in c.findall('failure')] for c in suite.findall('testcase')}
            print(json.dumps([int(suite.get('tests')), int(suite.get('failures')), cases]))
            """
        let result = try runProcess("python3", ["-c", script, path.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [Any])
        return (parsed[0] as! Int, parsed[1] as! Int, parsed[2] as! [String: [String]])
    }

    func testJUnitReportsForDriftAndValidate() throws {
        let report = workspace.url("reports/drift.xml")
        try FileManager.default.createDirectory(at: report.deletingLastPathComponent(), withIntermediateDirectories: true)
        let drift = try workspace.run(["drift", "--report", "junit", report.path])
        XCTAssertEqual(drift.status, 1, drift.stderr)
        let (tests, failures, cases) = try parseJUnit(report)
        XCTAssertEqual(tests, 4)  // db, and three outputs
        XCTAssertEqual(failures, 2)
        XCTAssertEqual(cases["db"], ["rotated"])
        XCTAssertEqual(cases[".build/inject-secrets/worker.env"], ["output-modified"])
        XCTAssertEqual(cases[".build/inject-secrets/checkout.json"], [])
        XCTAssertFalse(try String(contentsOf: report, encoding: .utf8).contains(password))

        let validate = workspace.url("reports/validate.xml")
        XCTAssertEqual(try workspace.run(["validate", "--report", "junit", validate.path]).status, 0)
        let (validTests, validFailures, _) = try parseJUnit(validate)
        XCTAssertEqual(validTests, 4)
        XCTAssertEqual(validFailures, 0)

        // An invalid manifest: one failing case per error, with XML-significant characters escaped.
        try workspace.write(["inject-secrets.yaml": workspace.read("inject-secrets.yaml")!.replacingOccurrences(of: "PLAIN: \"a<b & 'c'\"", with: "PLAIN: \"${vars.<&'\\\"x}\"")])
        let invalid = try workspace.run(["validate", "--report", "junit", validate.path])
        XCTAssertEqual(invalid.status, 2)
        let (_, invalidFailures, invalidCases) = try parseJUnit(validate)
        XCTAssertEqual(invalidFailures, 1)
        XCTAssertEqual(invalidCases.values.first, ["error"])

        let bad = try workspace.run(["drift", "--report", "xml", "x"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--report junit PATH"), bad.stderr)
    }

    func testCompletionScripts() throws {
        for shell in ["bash", "zsh", "fish"] {
            let result = try workspace.run(["--generate-completion-script", shell])
            XCTAssertEqual(result.status, 0, "\(shell): \(result.stderr)")
            for verb in ["render", "drift", "exec", "rotate"] {
                XCTAssertTrue(result.stdout.contains(verb), "\(shell) script lacks \(verb)")
            }
            if let interpreter = which(shell) {
                let file = workspace.url("completion.\(shell)")
                try Data(result.stdout.utf8).write(to: file)
                let check = try runProcess(interpreter, ["-n", file.path])
                XCTAssertEqual(check.status, 0, "\(shell) -n: \(check.stderr)")
            }
        }
        // bash: the completion function offers the subcommands.
        let script = workspace.url("completion.bash").path
        let offered = try runProcess("bash", ["-c", "source '\(script)'; COMP_WORDS=(inject-secrets r); COMP_CWORD=1; _inject-secrets; printf '%s\\n' \"${COMPREPLY[@]}\""])
        XCTAssertTrue(offered.stdout.contains("render") && offered.stdout.contains("rotate"), offered.stdout + offered.stderr)
    }
}

extension CIReportTests {
    /// With --format json the document on stdout stays parseable: the commands go to stderr.
    func testJSONStaysParseableUnderGitHubActions() throws {
        let result = try workspace.run(["drift", "--format", "json"], environment: github)
        XCTAssertEqual(result.status, 1)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)))
        XCTAssertTrue(result.stderr.contains("::error file=inject-secrets.yaml,line=5,col=3,"), result.stderr)
    }
}
