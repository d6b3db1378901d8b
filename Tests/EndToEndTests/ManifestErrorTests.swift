import Foundation
import TestSupport
import XCTest

/// Every kind of bad manifest gives exit 2 and an error at its place, never a crash or a hang, and
/// nothing is read or written.
final class ManifestErrorTests: XCTestCase {
    var workspace: CLIWorkspace!

    override func setUpWithError() throws {
        workspace = try CLIWorkspace("manifest")
        try workspace.write(["store.yaml": "a: { current: v1, versions: { v1: x } }\n"])
    }

    /// Writes `manifest`, runs `validate` and `render`, and checks both fail with exit 2 and an error line
    /// starting with `expected` (a place and a message fragment).
    func assertRejected(
        _ manifest: Data, _ expected: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        try manifest.write(to: workspace.url("inject-secrets.yaml"))
        for verb in ["validate", "render", "drift"] {
            let started = Date()
            let result = try workspace.run([verb], file: file, line: line)
            XCTAssertEqual(result.status, 2, "\(verb): \(result.stderr)", file: file, line: line)
            XCTAssertLessThan(Date().timeIntervalSince(started), 20, "\(verb) took too long", file: file, line: line)
            for fragment in expected {
                XCTAssertTrue(result.stderr.contains(fragment), "\(verb): expected '\(fragment)' in:\n\(result.stderr)", file: file, line: line)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.url(".build").path), file: file, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.url("inject-secrets.lock").path), file: file, line: line)
        }
    }

    func assertRejected(_ manifest: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        try assertRejected(Data(manifest.utf8), expected, file: file, line: line)
    }

    let valid = """
        version: 1
        providers:
          local: { type: file, path: store.yaml }
        secrets:
          a: { provider: local, id: a }
        functions:
          f:
            env: { A: "${secrets.a}" }

        """

    func testValidManifestPasses() throws {
        try workspace.write(["inject-secrets.yaml": valid])
        let result = try workspace.run(["validate"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("is valid: 1 functions, 1 secrets"), result.stdout)
    }

    func testUnknownKeyWithDidYouMean() throws {
        try assertRejected(valid.replacingOccurrences(of: "functions:", with: "fucntions:"), [
            "inject-secrets.yaml:6:1: error: unknown key 'fucntions' in the manifest; did you mean 'functions'?",
            "inject-secrets.yaml:1:1: error: missing 'functions:'",
        ])
    }

    func testDuplicateKey() throws {
        try assertRejected(valid + "  f:\n    env: {}\n", ["inject-secrets.yaml:9:3: error: duplicate key 'f'"])
    }

    func testMissingOrWrongVersion() throws {
        try assertRejected(valid.replacingOccurrences(of: "version: 1\n", with: ""), ["inject-secrets.yaml:1:1: error: missing 'version: 1'"])
        try assertRejected(valid.replacingOccurrences(of: "version: 1", with: "version: 2"), ["inject-secrets.yaml:1:10: error: unsupported manifest version '2'"])
    }

    func testUnknownProviderAndType() throws {
        try assertRejected(valid.replacingOccurrences(of: "provider: local", with: "provider: lokal"), [
            "inject-secrets.yaml:5:18: error: secret 'a' names unknown provider 'lokal'; did you mean 'local'?",
        ])
        try assertRejected(valid.replacingOccurrences(of: "type: file", with: "type: fiel"), [
            "inject-secrets.yaml:3:18: error: unknown provider type 'fiel' for provider 'local'",
            "did you mean 'file'?",
        ])
        // One mistake, one error: the secrets of that provider are not reported as well.
        XCTAssertEqual(try workspace.run(["validate"]).errorLines.count, 1)
        try assertRejected(valid.replacingOccurrences(of: "path: store.yaml", with: "pth: store.yaml"), [
            "inject-secrets.yaml:3:24: error: unknown setting 'pth' for provider 'local' of type 'file'; did you mean 'path'?",
        ])
    }

    func testUndeclaredSecretAndBadTemplates() throws {
        try assertRejected(valid.replacingOccurrences(of: "${secrets.a}", with: "${secrets.b}"), [
            "inject-secrets.yaml:8:16: error: function 'f' uses undeclared secret 'b' in A; declare it under 'secrets:'",
        ])
        try assertRejected(valid.replacingOccurrences(of: "${secrets.a}", with: "x ${secret.a}"), [
            "inject-secrets.yaml:8:18: error: invalid reference '${secret.a}': unknown namespace 'secret'",
            "did you mean 'secrets'?",
        ])
        try assertRejected(valid.replacingOccurrences(of: "${secrets.a}", with: "${secrets.a"), [
            "inject-secrets.yaml:8:16: error: unterminated '${'",
        ])
        try assertRejected(valid.replacingOccurrences(of: "${secrets.a}", with: "${vars.nope}"), [
            "inject-secrets.yaml:8:16: error: unknown variable 'nope' in A of function 'f'",
        ])
        try assertRejected(valid.replacingOccurrences(of: "id: a", with: "id: \"${secrets.a}\""), [
            "inject-secrets.yaml:5:30: error: a secret id cannot use ${secrets.a}",
        ])
    }

    /// 1,200 secrets and functions are each decoded in two halves at once: errors in either half are all
    /// reported, in file order, a duplicate output across the halves is found, and no function is lost.
    func testLargeManifestReportsTheErrorsOfBothHalvesInFileOrder() throws {
        func manifest(broken: Bool) -> (text: String, expected: [String]) {
            var lines = ["version: 1", "providers:", "  local: { type: file, path: store.yaml }", "secrets:"]
            var expected: [String] = []
            for index in 0..<1200 {
                let bad = broken && (index == 10 || index == 1100)
                lines.append("  s\(index): { provider: \(bad ? "nope" : "local"), id: a }")
                if bad { expected.append("inject-secrets.yaml:\(lines.count):\(index == 10 ? 20 : 22): error: secret 's\(index)' names unknown provider 'nope'") }
            }
            lines.append("functions:")
            for index in 0..<1200 {
                let name = String(format: "f%05d", index)
                lines.append("  \(name):")
                let missing = broken && (index == 10 || index == 1100) ? "missing\(index)" : "s\(index)"
                lines.append("    env: { A: \"${secrets.\(missing)}\" }")
                if missing.hasPrefix("missing") {
                    expected.append("inject-secrets.yaml:\(lines.count):16: error: function '\(name)' uses undeclared secret '\(missing)' in A")
                }
                if broken && (index == 20 || index == 1150) {
                    lines.append("    outputs: [{ format: json, path: same.json }]")
                    if index == 1150 { expected.append("inject-secrets.yaml:\(lines.count):15: error: output 'same.json' of function 'f01150' is also written by function 'f00020'") }
                }
            }
            return (lines.joined(separator: "\n") + "\n", expected)
        }
        let (broken, expected) = manifest(broken: true)
        try assertRejected(broken, expected)
        let result = try workspace.run(["validate"])
        let errors = result.stderr.split(separator: "\n").filter { $0.contains(": error: ") }.map(String.init)
        XCTAssertEqual(errors.count, expected.count, result.stderr)
        for (error, prefix) in zip(errors, expected) { XCTAssertTrue(error.hasPrefix(prefix), "\(error)\nexpected: \(prefix)") }

        try workspace.write(["inject-secrets.yaml": manifest(broken: false).text])
        let valid = try workspace.run(["validate"])
        XCTAssertEqual(valid.status, 0, valid.stderr)
        XCTAssertTrue(valid.stdout.contains("is valid: 1200 functions, 1200 secrets"), valid.stdout)
        let render = try workspace.run(["render"])
        XCTAssertEqual(render.status, 0, render.stderr)
        let written = try FileManager.default.contentsOfDirectory(atPath: workspace.url(".build/inject-secrets").path).filter { $0.hasSuffix(".env") }
        XCTAssertEqual(Set(written), Set((0..<1200).map { String(format: "f%05d.env", $0) }))
    }

    func testBadNamesPathsAndDuplicateOutputs() throws {
        try assertRejected(valid.replacingOccurrences(of: "  f:\n", with: "  ../f:\n"), [
            "inject-secrets.yaml:7:3: error: function name '../f' must be 1 to 64 letters",
        ])
        try assertRejected(valid.replacingOccurrences(of: "{ A: ", with: "{ 1A: "), [
            "inject-secrets.yaml:8:12: error: variable '1A' of function 'f' is not a valid environment variable name",
        ])
        try assertRejected(valid + "    outputs: [{ format: json, path: ../../etc/out.json }]\n", [
            "inject-secrets.yaml:9:37: error: output path '../../etc/out.json' leaves the manifest's folder",
        ])
        try assertRejected(valid + "    outputs: [{ format: dotenv, path: a.env }, { format: json, path: a.env }]\n", [
            "inject-secrets.yaml:9:48: error: output 'a.env' of function 'f' is also written by function 'f'",
        ])
        try assertRejected(valid + "    outputs: [{ format: dotenvv }]\n", [
            "inject-secrets.yaml:9:25: error: unknown output format 'dotenvv'",
            "did you mean 'dotenv'?",
        ])
    }

    func testPolicyTheStoreCannotHonour() throws {
        try assertRejected(valid.replacingOccurrences(of: "id: a }", with: "id: a, version: \"stage:AWSPREVIOUS\" }"), [
            "inject-secrets.yaml:5:3: error: secret 'a': version 'stage:AWSPREVIOUS' cannot be used: the file store has no staging labels",
        ])
    }

    func testLambdaRulesBeforeAnyRead() throws {
        try assertRejected(valid.replacingOccurrences(of: "{ A: ", with: "{ AWS_REGION: ") + "    outputs: [{ format: lambda }]\n", [
            "inject-secrets.yaml:8:12: error: variable 'AWS_REGION' of function 'f' cannot go to Lambda",
        ])
        let big = String(repeating: "x", count: 5000)
        try assertRejected(valid.replacingOccurrences(of: "{ A: \"${secrets.a}\" }", with: "{ A: \"${secrets.a}\", B: \(big) }") + "    outputs: [{ format: lambda }]\n", [
            "error: the environment of function 'f' is at least 5",
            "Lambda allows 4096",
        ])
    }

    func testHostileFilesFailFast() throws {
        // Billion laughs: nine levels of ten aliases each.
        var bomb = "version: 1\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        var previous = "a"
        for level in ["b", "c", "d", "e", "f", "g", "h", "i"] {
            bomb += "\(level): &\(level) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ",") + "]\n"
            previous = level
        }
        try assertRejected(bomb, ["inject-secrets.yaml:", "alias"])

        // 20,000-deep nesting, flow and block.
        try assertRejected("version: 1\nfunctions: " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000) + "\n", ["inject-secrets.yaml:", "nesting deeper than"])
        try assertRejected("version: 1\nfunctions:\n" + String(repeating: "- ", count: 20_000) + "x\n", ["inject-secrets.yaml:3:", "nesting deeper than"])

        // Invalid UTF-8, an empty file, a tab-indented file.
        var invalid = Data("version: 1\nfunctions:\n  f: { env: { A: \"".utf8)
        invalid += Data([0xC3, 0x28, 0xFF])
        invalid += Data("\" } }\n".utf8)
        try assertRejected(invalid, ["inject-secrets.yaml:3:", "UTF-8"])
        try assertRejected("", ["inject-secrets.yaml:1:1: error: the manifest is empty"])
        try assertRejected("version: 1\nfunctions:\n\tf: {}\n", ["inject-secrets.yaml:3:1: error:", "tab"])
    }

    func testMissingManifestAndBadArguments() throws {
        let missing = try workspace.run(["render", "--manifest", "nope.yaml"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("error: cannot read manifest nope.yaml"), missing.stderr)
        let bad = try workspace.run(["render", "--format", "xml"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("error:"), bad.stderr)
        let help = try workspace.run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("drift"), help.stdout)
        let version = try workspace.run(["--version"])
        XCTAssertEqual(version.status, 0)
    }

    func testDamagedLockIsBadInput() throws {
        try workspace.write(["inject-secrets.yaml": valid, "inject-secrets.lock": "{ not json"])
        for verb in ["validate", "render", "drift"] {
            let result = try workspace.run([verb])
            XCTAssertEqual(result.status, 2, "\(verb): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("inject-secrets.lock:1:1: error: the lock is not valid JSON"), result.stderr)
        }
        XCTAssertEqual(workspace.read("inject-secrets.lock"), "{ not json")
    }
}
