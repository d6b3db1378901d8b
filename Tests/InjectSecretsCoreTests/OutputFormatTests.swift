import Foundation
import TestSupport
import XCTest
@testable import InjectSecretsCore

/// Each format is read back by its real consumer in a subprocess, which compares with the expected values
/// (handed over in a temporary JSON file, never in argv) and prints only "ok" or the keys that differ, so
/// no value ever reaches the test log.
final class OutputFormatTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("outputs")
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    // MARK: - Hostile values

    static let pem = """
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
        MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu
        NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ
        -----END PRIVATE KEY-----

        """

    /// Values that break naive quoting somewhere; every format must give each back byte for byte.
    static let hostile: [String: String] = [
        "K01_SINGLE_QUOTE": "it's",
        "K02_DOUBLE_QUOTE": "say \"hi\"",
        "K03_BOTH_QUOTES": "'\"'\"mixed'\"",
        "K04_DOLLAR": "$HOME and $1 and $$",
        "K05_BRACES": "${HOME} ${X:-default} $${literal}",
        "K06_BACKTICKS": "`echo pwned` $(echo pwned)",
        "K07_BACKSLASH": "C:\\path\\to\\file \\n is not a newline \\\\ two",
        "K08_TRAILING_BACKSLASH": "C:\\Windows\\",
        "K09_ONLY_BACKSLASH": "\\",
        "K10_HASH": "#not-a-comment",
        "K11_SPACE_HASH": "value #not a comment",
        "K12_EQUALS": "a=b==c=",
        "K13_PEM": pem,
        "K14_CRLF": "line one\r\nline two\r\n",
        "K15_LONE_CR": "a\rb\r",
        "K16_TAB": "a\tb\t",
        "K17_NON_ASCII": "é 日本語 🎉 👨‍👩‍👧 e\u{301}",
        "K18_PADDED": "  leading and trailing  ",
        "K19_EMPTY": "",
        "K20_CONTROL": "\u{07}\u{08}\u{0B}\u{0C}\u{1B}\u{7F}\u{01}\u{1F}",
        "K21_YAML_BREAKS": "a\u{85}b\u{2028}c\u{2029}d\u{FEFF}e\u{A0}f",
        "K22_YAML_WORDS": "null",
        "K23_YAML_BOOL": "yes",
        "K24_YAML_OCTAL": "0755",
        "K25_YAML_INDICATORS": "- [a, b]: {c: d} & * ! | > % @ ~",
        "K26_ESCAPE_LOOKALIKES": "\\'\\\"\\a\\b\\f\\r\\t\\v\\x41\\u0041",
        "K27_EXPORT": "export X=1",
        "K28_NEWLINES_ONLY": "\n\n",
        "K29_QUOTE_AT_END": "ends with '",
        "K30_DQUOTE_AT_END": "ends with \"",
        "K31_SPACE_ONLY": " ",
        "K32_SURROGATE_RANGE": "\u{10FFFF}\u{FFFD}\u{E000}",
    ]

    static var hostileWithLongValue: [String: String] {
        var values = hostile
        values["K99_LONG"] = String(repeating: "0123456789abcdef\"'\\$`\n", count: 6_000)
        return values
    }

    // MARK: - Read back by the real consumers

    func testDotenvReadBackByPythonDotenv() throws {
        try assertReadBack(.dotenv, Self.hostileWithLongValue, reader: Self.dotenvReader)
    }

    func testShellReadBackByBash() throws {
        try assertReadBack(.shell, Self.hostileWithLongValue.filter { !$0.value.contains("\0") }, reader: Self.bashReader)
    }

    func testJSONReadBackByPython() throws {
        var values = Self.hostileWithLongValue
        values["K40_NUL"] = "a\0b"
        try assertReadBack(.json, values, reader: Self.jsonReader)
    }

    func testYAMLReadBackByPyYAML() throws {
        var values = Self.hostileWithLongValue
        values["K40_NUL"] = "a\0b"
        values["K41_NONCHAR"] = "\u{FFFE}\u{FFFF}\u{9F}\u{80}"
        try assertReadBack(.yaml, values, reader: Self.yamlReader)
    }

    func testJSONAndYAMLCarryAnyKey() throws {
        let values = [
            "key with: colon": "1", "日本": "2", "#": "3", "\"quoted\"": "4", "": "5", "a\nb": "6",
            "- dash": "7", "? q": "8", String(repeating: "k", count: 1500): "long key",
        ]
        try assertReadBack(.json, values, reader: Self.jsonReader)
        try assertReadBack(.yaml, values, reader: Self.yamlReader)
    }

    func testLambdaReadBackByPythonAndAcceptedByAWSCLI() throws {
        // Lambda allows 4 KB in total, so the hostile set goes in two halves.
        let entries = Self.hostile.sorted { $0.key < $1.key }
        let halves = [Array(entries.prefix(16)), Array(entries.dropFirst(16))]
        for half in halves {
            let values = Dictionary(uniqueKeysWithValues: half.map { ($0.key, $0.value) })
            XCTAssertLessThanOrEqual(LambdaEnvironmentRules.totalSize(values), LambdaEnvironmentRules.maxTotalBytes)
            try assertReadBack(.lambda, values, reader: Self.lambdaReader)
            try assertAcceptedByAWSCLI(values)
        }
    }

    // MARK: - Refusals name the key and format, never the value

    func testRefusalsNameKeyAndFormatButNotValue() throws {
        let canary = Canary("refused").value
        let cases: [(OutputFormat, [String: String], String)] = [
            (.dotenv, ["NUL_VALUE": canary + "\0"], "NUL_VALUE"),
            (.shell, ["NUL_VALUE": canary + "\0"], "NUL_VALUE"),
            (.lambda, ["NUL_VALUE": canary + "\0"], "NUL_VALUE"),
            (.dotenv, ["bad-key": canary], "bad-key"),
            (.shell, ["1ABC": canary], "1ABC"),
            (.shell, ["UID": canary], "UID"),
            (.shell, ["RANDOM": canary], "RANDOM"),
            (.dotenv, ["TRAILING": "'" + canary + "\\"], "TRAILING"),
            (.dotenv, ["TRAILING": canary + "\nline\\"], "TRAILING"),
            (.dotenv, ["TRAILING": " " + canary + "\\"], "TRAILING"),
            (.dotenv, ["TRAILING": canary + " #\\"], "TRAILING"),
            (.lambda, ["AWS_REGION": canary], "AWS_REGION"),
            (.lambda, ["_HANDLER": canary], "_HANDLER"),
            (.lambda, ["A": canary], "A"),
            (.lambda, ["MY-KEY": canary], "MY-KEY"),
            (.lambda, ["BIG": canary + String(repeating: "x", count: 5000)], "BIG"),
        ]
        for (format, values, key) in cases {
            XCTAssertThrowsError(try format.encode(values), "\(format) \(key)") { error in
                guard let error = error as? OutputEncodingError else {
                    return XCTFail("\(format) \(key): not an OutputEncodingError")
                }
                XCTAssertEqual(error.key, key)
                XCTAssertEqual(error.format, format)
                XCTAssertTrue(error.description.contains(key), "\(format) \(key): message does not name the key")
                XCTAssertTrue(error.description.contains(format.rawValue))
                XCTAssertFalse(error.description.contains(canary), "\(format) \(key): message holds the value")
            }
        }
    }

    func testLambdaSizeIsCountedLikeLambdaAndMessageNamesTheFunction() throws {
        // {"AB":"x"} is 10 bytes.
        XCTAssertEqual(LambdaEnvironmentRules.totalSize(["AB": "x"]), 10)
        XCTAssertEqual(LambdaEnvironmentRules.totalSize([:]), 2)
        XCTAssertEqual(LambdaEnvironmentRules.totalSize(["AB": "\"\n"]), 13)
        XCTAssertEqual(LambdaEnvironmentRules.totalSize(["AB": "é"]), 11)

        let exactly = ["AB": String(repeating: "x", count: 4096 - 9)]
        XCTAssertEqual(LambdaEnvironmentRules.totalSize(exactly), 4096)
        XCTAssertNil(LambdaEnvironmentRules.sizeProblem(exactly, function: "checkout"))
        XCTAssertNoThrow(try OutputFormat.lambda.encode(exactly))

        let canary = Canary("size").value
        let over = ["AB": canary + String(repeating: "x", count: 4096 - 9 - canary.count + 1), "CD": "y"]
        let message = try XCTUnwrap(LambdaEnvironmentRules.sizeProblem(over, function: "checkout"))
        XCTAssertTrue(message.contains("checkout"))
        // No figure measured on the values: a total size tells a secret's length.
        XCTAssertFalse(message.contains("\(LambdaEnvironmentRules.totalSize(over))"))
        XCTAssertFalse(message.contains("\(canary.count)"))
        XCTAssertTrue(message.contains("the largest are 'AB' and 'CD'"), message)
        XCTAssertFalse(message.contains(canary))
        XCTAssertThrowsError(try OutputFormat.lambda.encode(over)) { error in
            XCTAssertFalse("\(error)".contains("\(LambdaEnvironmentRules.totalSize(over))"), "\(error)")
        }
    }

    func testLambdaKeyRulesNeedNoValue() {
        XCTAssertNil(LambdaEnvironmentRules.keyProblem("DB_PASSWORD"))
        XCTAssertNil(LambdaEnvironmentRules.keyProblem("ab"))
        XCTAssertNil(LambdaEnvironmentRules.keyProblem("TZ"))
        XCTAssertNil(LambdaEnvironmentRules.keyProblem("PATH"))
        for key in ["A", "_X", "1AB", "MY-KEY", "MY.KEY", "", "ÉTÉ"] {
            XCTAssertNotNil(LambdaEnvironmentRules.keyProblem(key), key)
        }
        for key in LambdaEnvironmentRules.reservedKeys {
            XCTAssertTrue(LambdaEnvironmentRules.keyProblem(key)?.contains("reserved") == true, key)
        }
        for key in ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"] {
            XCTAssertTrue(LambdaEnvironmentRules.reservedKeys.contains(key), key)
        }
    }

    // MARK: - Shape and determinism

    func testDeterministicSortedByUTF8Bytes() throws {
        // Swift orders "é" (U+00E9) and "z" by Unicode rules; byte order puts "z" (0x7A) first.
        var values: [String: String] = [:]
        for index in 0..<200 { values["K\(index)_\(index % 7)"] = "v\(index)" }
        for format in OutputFormat.allCases {
            let first = try format.encode(values)
            var shuffled: [String: String] = [:]
            for (key, value) in values.shuffled() { shuffled[key] = value }
            XCTAssertEqual(first, try format.encode(shuffled), "\(format)")
            XCTAssertEqual(first.last, UInt8(ascii: "\n"), "\(format)")
        }
        let keys = ["Zeta", "alpha", "Alpha", "_under", "A1", "A_"]
        let expected = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        XCTAssertEqual(expected, ["A1", "A_", "Alpha", "Zeta", "_under", "alpha"])
        let text = String(decoding: try OutputFormat.dotenv.encode(Dictionary(uniqueKeysWithValues: keys.map { ($0, "v") })), as: UTF8.self)
        XCTAssertEqual(text.split(separator: "\n").map { String($0.prefix { $0 != "=" }) }, expected)
        XCTAssertEqual(OutputFormat.sortedEntries(["é": "", "z": ""]).map(\.key), ["z", "é"])
    }

    func testShapes() throws {
        let values = ["B_KEY": "two", "A_KEY": "it's"]
        XCTAssertEqual(String(decoding: try OutputFormat.dotenv.encode(values), as: UTF8.self),
                       "A_KEY=\"it's\"\nB_KEY=\"two\"\n")
        XCTAssertEqual(String(decoding: try OutputFormat.shell.encode(values), as: UTF8.self),
                       "export A_KEY='it'\\''s'\nexport B_KEY='two'\n")
        XCTAssertEqual(String(decoding: try OutputFormat.json.encode(values), as: UTF8.self),
                       "{\n  \"A_KEY\": \"it's\",\n  \"B_KEY\": \"two\"\n}\n")
        XCTAssertEqual(String(decoding: try OutputFormat.lambda.encode(values), as: UTF8.self),
                       "{\n  \"Variables\": {\n    \"A_KEY\": \"it's\",\n    \"B_KEY\": \"two\"\n  }\n}\n")
        XCTAssertEqual(String(decoding: try OutputFormat.yaml.encode(values), as: UTF8.self),
                       "\"A_KEY\": \"it's\"\n\"B_KEY\": \"two\"\n")
        XCTAssertEqual(String(decoding: try OutputFormat.json.encode([:]), as: UTF8.self), "{}\n")
        XCTAssertEqual(String(decoding: try OutputFormat.yaml.encode([:]), as: UTF8.self), "{}\n")
        XCTAssertEqual(String(decoding: try OutputFormat.lambda.encode([:]), as: UTF8.self), "{\n  \"Variables\": {}\n}\n")
        XCTAssertEqual(String(decoding: try OutputFormat.dockerEnv.encode(values), as: UTF8.self), "A_KEY=it's\nB_KEY=two\n")
        XCTAssertEqual(String(decoding: try OutputFormat.systemdEnv.encode(["A_KEY": "$x \"q\" `c` \\"]), as: UTF8.self),
                       "A_KEY=\"\\$x \\\"q\\\" \\`c\\` \\\\\"\n")
        XCTAssertEqual(OutputFormat.allCases.map(\.fileSuffix), [".env", ".sh", ".json", ".lambda.json", ".yaml", ".docker.env", ".systemd.env"])
    }

    // MARK: - Readers

    /// Common tail of every reader: `got` (a dict) against the expected file; prints ok or the keys.
    static let compareTail = """
        import json, sys
        expected = json.load(open(sys.argv[1], encoding="utf-8"))
        bad = sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k) or type(got.get(k)) is not str)
        print("ok" if not bad else "MISMATCH " + " ".join(repr(k) for k in bad))
        """

    static let dotenvReader = """
        import sys
        from dotenv import dotenv_values
        got = dict(dotenv_values(sys.argv[2], interpolate=False))
        """ + "\n" + compareTail

    static let jsonReader = """
        import json, sys
        got = json.load(open(sys.argv[2], encoding="utf-8"))
        assert isinstance(got, dict), "not an object"
        """ + "\n" + compareTail

    static let lambdaReader = """
        import json, sys
        top = json.load(open(sys.argv[2], encoding="utf-8"))
        assert isinstance(top, dict) and list(top) == ["Variables"], "not {Variables: ...}"
        got = top["Variables"]
        """ + "\n" + compareTail

    static let yamlReader = """
        import sys, yaml
        got = yaml.safe_load(open(sys.argv[2], encoding="utf-8"))
        assert isinstance(got, dict), "not a map"
        """ + "\n" + compareTail

    /// bash sources the file in an empty environment and prints, per expected key, "set" or "unset" and
    /// the value, NUL-separated, into Python, which compares.
    static let bashReader = """
        import json, subprocess, sys
        expected = json.load(open(sys.argv[1], encoding="utf-8"))
        keys = sorted(expected)
        script = 'set -a; . "$1"; shift; for k in "$@"; do printf "%s\\\\0%s\\\\0" "${!k+set}" "${!k}"; done'
        out = subprocess.run(["env", "-i", "/usr/bin/bash", "-c", script, "_", sys.argv[2]] + keys,
                             stdout=subprocess.PIPE, check=True).stdout
        parts = out.split(b"\\0")
        got = {}
        for i, k in enumerate(keys):
            if parts[2 * i] == b"set":
                got[k] = parts[2 * i + 1].decode("utf-8", "surrogateescape")
        bad = sorted(k for k in keys if expected[k] != got.get(k))
        print("ok" if not bad else "MISMATCH " + " ".join(bad))
        """

    // MARK: - Helpers

    func assertReadBack(
        _ format: OutputFormat, _ values: [String: String], reader: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let output = directory.appendingPathComponent("out-\(UUID().uuidString.prefix(6))\(format.fileSuffix)")
        try format.encode(values).write(to: output)
        let result = try runReader(reader, expected: values, output: output)
        XCTAssertEqual(result.status, 0, "\(format) reader failed: \(result.stderr.suffix(2000))", file: file, line: line)
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok", "\(format)", file: file, line: line)
    }

    func runReader(_ script: String, expected: [String: String], output: URL) throws -> ProcessResult {
        let expectedFile = directory.appendingPathComponent("expected-\(UUID().uuidString.prefix(6)).json")
        try JSONSerialization.data(withJSONObject: expected).write(to: expectedFile)
        let scriptFile = directory.appendingPathComponent("reader-\(UUID().uuidString.prefix(6)).py")
        try Data(script.utf8).write(to: scriptFile)
        return try runProcess("python3", [scriptFile.path, expectedFile.path, output.path], timeout: 120)
    }

    /// Runs the real AWS CLI against a loopback endpoint that records the request, then checks that the
    /// environment it sent is exactly the expected one. Skipped when the CLI is not installed.
    func assertAcceptedByAWSCLI(_ values: [String: String], file: StaticString = #filePath, line: UInt = #line) throws {
        guard which("aws") != nil else {
            let message = try missingServer("the AWS CLI", install: "pip install awscli")
            throw XCTSkip(message)
        }
        let output = directory.appendingPathComponent("cli-\(UUID().uuidString.prefix(6)).lambda.json")
        try OutputFormat.lambda.encode(values).write(to: output)
        let expectedFile = directory.appendingPathComponent("cli-expected-\(UUID().uuidString.prefix(6)).json")
        try JSONSerialization.data(withJSONObject: values).write(to: expectedFile)
        let scriptFile = directory.appendingPathComponent("cli-check.py")
        try Data(Self.awsCLICheck.utf8).write(to: scriptFile)
        var environment = ProcessInfo.processInfo.environment
        for name in environment.keys where name.hasPrefix("AWS_") { environment[name] = nil }
        environment["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
        environment["AWS_SECRET_ACCESS_KEY"] = "not-a-secret"
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        environment["AWS_CONFIG_FILE"] = "/dev/null"
        environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
        environment["LANG"] = "C.UTF-8"
        let result = try runProcess(
            "python3", [scriptFile.path, expectedFile.path, output.path], environment: environment, timeout: 180)
        XCTAssertEqual(result.status, 0, "aws cli check failed: \(result.stderr.suffix(2000))", file: file, line: line)
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok", file: file, line: line)
    }

    /// Serves one request on 127.0.0.1, runs `aws lambda update-function-configuration --environment
    /// file://FILE` against it, and compares the Environment.Variables the CLI sent.
    static let awsCLICheck = """
        import http.server, json, subprocess, sys, threading
        captured = {}
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                captured["body"] = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                reply = b'{"FunctionName":"f"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            do_POST = do_PUT
            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.handle_request, daemon=True).start()
        cli = subprocess.run(["aws", "lambda", "update-function-configuration", "--function-name", "f",
                              "--environment", "file://" + sys.argv[2],
                              "--endpoint-url", "http://127.0.0.1:%d" % server.server_address[1],
                              "--output", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=150)
        if cli.returncode != 0:
            # The CLI's own complaint, minus anything after the first line (it could quote the file).
            print("CLI REFUSED: " + cli.stderr.decode("utf-8", "replace").strip().splitlines()[0][:200])
            sys.exit(0)
        got = json.loads(captured["body"])["Environment"]["Variables"]
        expected = json.load(open(sys.argv[1], encoding="utf-8"))
        bad = sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k))
        print("ok" if not bad else "MISMATCH " + " ".join(bad))
        """
}
