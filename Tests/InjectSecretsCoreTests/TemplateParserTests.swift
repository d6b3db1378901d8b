import XCTest
@testable import InjectSecretsCore
@testable import InjectSecretsKit

final class TemplateParserTests: XCTestCase {
    let origin = TemplateParser.Origin(location: SourceLocation(path: "m.yaml", line: 4, column: 10))

    func parse(_ text: String) throws -> Template { try TemplateParser.parse(text, origin: origin) }

    func testEveryFormOfTheSpec() throws {
        let template = try parse(#"a ${secrets.db} ${secrets.db.pass_word} ${secrets.db["key.with \"dots\""]} ${vars.stage} ${env.HOME} ${env.X:-d:e}"#)
        XCTAssertEqual(template.references.map(\.kind), [
            .secret(name: "db", field: nil),
            .secret(name: "db", field: "pass_word"),
            .secret(name: "db", field: "key.with \"dots\""),
            .variable("stage"),
            .environment(name: "HOME", fallback: nil),
            .environment(name: "X", fallback: "d:e"),
        ])
        XCTAssertEqual(template.secretNames, ["db", "db", "db"])
        XCTAssertEqual(try parse("${secrets.db.pässwort_2}").references.map(\.kind), [.secret(name: "db", field: "pässwort_2")])
        XCTAssertThrowsError(try parse("${secrets.db.a+b}"))
    }

    func testReferencePlacesCountFromTheScalar() throws {
        let template = try parse("x${vars.a}\n  ${vars.b}")
        XCTAssertEqual(template.references.map(\.location.line), [4, 5])
        XCTAssertEqual(template.references.map(\.location.column), [11, 3])
        let quoted = try TemplateParser.parse("${vars.a}", origin: .init(location: origin.location, columnShift: 1))
        XCTAssertEqual(quoted.references.first?.location.column, 11)
        // Columns count scalars, not UTF-8 bytes; literals around references keep every character.
        let accented = try parse("é🔑 ${vars.a}ü\nñ ${vars.b}")
        XCTAssertEqual(accented.references.map(\.location.column), [13, 3])
        XCTAssertEqual(accented.segments.first, .literal("é🔑 "))
        XCTAssertEqual(accented.segments[2], .literal("ü\nñ "))
    }

    func testDollarDollarIsALiteralAndALoneDollarStays() throws {
        let template = try parse("cost $5 and $${price} and $")
        XCTAssertTrue(template.isLiteral)
        XCTAssertEqual(template.segments, [.literal("cost $5 and ${price} and $")])
    }

    func testErrorsNameTheReferenceAndItsPlace() {
        for (text, fragment, column) in [
            ("ab ${secret.x}", "unknown namespace 'secret'", 13),
            ("${secrets.}", "'' is not a secret name", 10),
            ("${vars.a b}", "'a b' is not a variable name", 10),
            ("${secrets.db[\"k\"}", "a quoted field is written", 10),
            ("${env.1X}", "not an environment variable name", 10),
            ("${nothing}", "expected secrets.NAME", 10),
            ("x ${secrets.db", "unterminated '${'", 12),
        ] {
            XCTAssertThrowsError(try parse(text), text) { error in
                let diagnostic = (error as? InjectSecretsError)?.diagnostics.first
                XCTAssertTrue(diagnostic?.message.contains(fragment) == true, "\(text): \(diagnostic?.message ?? "")")
                XCTAssertEqual(diagnostic?.location?.column, column, text)
                XCTAssertEqual(diagnostic?.location?.line, 4, text)
            }
        }
    }
}

final class JSONValueTests: XCTestCase {
    func testNumbersKeepTheirTextAndKeysSortByBytes() throws {
        let value = try JSONValue.parse(#"{"b": 1.50, "a": [true, null, -2e3], "é": "x", "Z": "\u00e9\n"}"#)
        XCTAssertEqual(value["b"], .number("1.50"))
        XCTAssertEqual(value.serialized(), #"{"Z":"é\n","a":[true,null,-2e3],"b":1.50,"é":"x"}"#)
        // Escapes between plain runs, and a surrogate pair.
        XCTAssertEqual(try JSONValue.parse(#""a\"bc\\d\ud83d\udd11é""#), .string("a\"bc\\d🔑é"))
        // A repeated key keeps its last value; an empty object is one.
        XCTAssertEqual(try JSONValue.parse(#"{"a": 1, "b": {}, "a": "2"}"#), .object(["a": .string("2"), "b": .object([:])]))
    }

    func testRoundTripOfHostileStrings() throws {
        let text = "quote\" back\\slash \u{1} tab\t line\u{2028} emoji 🔑"
        let serialized = JSONValue.string(text).serialized()
        XCTAssertEqual(try JSONValue.parse(serialized), .string(text))
        XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(serialized.utf8), options: .fragmentsAllowed) as? String, text)
    }

    func testMalformedAndTooDeepInputFails() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"\\x\"", "01x", "\"\u{1}\"", "[" + String(repeating: "[", count: 300) + String(repeating: "]", count: 301)] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad)
        }
        // Invalid UTF-8 inside a string, after an ASCII run and after an escape.
        for bytes: [UInt8] in [[0x22, 0x61, 0xC3, 0x28, 0x22], [0x22, 0x5C, 0x6E, 0xFF, 0x22]] {
            XCTAssertThrowsError(try JSONValue.parse(Data(bytes)), "\(bytes)")
        }
    }
}

final class LockFileTests: XCTestCase {
    func testRoundTripIsStableAndHoldsSections() throws {
        var lock = LockFile()
        lock.base.secrets["db"] = .init(provider: "aws", type: "aws-secrets-manager", id: "prod/db", policy: "current", version: "v2", locator: "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf")
        lock.base.functions["checkout"] = .init(secrets: ["db"], outputs: [".build/inject-secrets/checkout.env"])
        lock.environments["staging"] = .init(secrets: ["db": .init(provider: "aws", type: "aws-secrets-manager", id: "staging/db", policy: "current", version: "v1")])
        let encoded = lock.encoded()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("inject-secrets.lock")
        try encoded.write(to: url)
        let read = try XCTUnwrap(LockFile.read(at: url, displayPath: "inject-secrets.lock"))
        XCTAssertEqual(read, lock)
        XCTAssertEqual(read.encoded(), encoded)
        let text = String(decoding: encoded, as: UTF8.self)
        XCTAssertTrue(text.hasSuffix("}\n"))
        XCTAssertLessThan(text.range(of: "\"environments\"")!.lowerBound, text.range(of: "\"functions\"")!.lowerBound)
    }

    func testAnotherFormatVersionIsRefused() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString)")
        try Data(#"{"lockfile-version": 9}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try LockFile.read(at: url, displayPath: "x.lock")) { error in
            XCTAssertTrue("\(error)".contains("x.lock:1:1: error: the lock is damaged: unsupported 'lockfile-version'"), "\(error)")
        }
    }
    func read(_ text: String) throws -> LockFile? {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString)")
        try Data(text.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try LockFile.read(at: url, displayPath: "x.lock")
    }

    func assertRefused(_ text: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try read(text), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains("x.lock:1:1: error: " + message), "\(error)", file: file, line: line)
        }
    }

    /// The lock is read straight into its entries: what a JSON object means is kept (unknown keys
    /// ignored, a repeated key's last value, only the strings of a list).
    func testKeysItDoesNotKnowAreSkippedAndARepeatedKeyKeepsItsLastValue() throws {
        let lock = try XCTUnwrap(read("""
            {"note": {"deep": [1, {"x": null}]}, "lockfile-version": 1,
             "secrets": {"db": {"provider": "old"}},
             "secrets": {"db": {"provider": "aws", "type": "t", "id": "prod/db", "policy": "current", "version": "2",
                                "extra": [true], "locator": 7}},
             "functions": {"api": {}, "api": {"secrets": ["db", 3, "db2"], "outputs": ["a.env"], "x": {}}},
             "environments": {"staging": {"secrets": {}, "functions": {}, "y": 1}}}
            """))
        XCTAssertEqual(lock.base.secrets, ["db": .init(provider: "aws", type: "t", id: "prod/db", policy: "current", version: "2")])
        XCTAssertEqual(lock.base.functions, ["api": .init(secrets: ["db", "db2"], outputs: ["a.env"])])
        XCTAssertEqual(lock.environments, ["staging": LockFile.Section()])
    }

    func testDamageIsNamedAndMalformedJSONComesFirst() {
        assertRefused("[1]", "the lock is damaged: expected a JSON object")
        assertRefused(#"{"secrets": {}}"#, "the lock is damaged: unsupported 'lockfile-version'")
        assertRefused(#"{"lockfile-version": "1"}"#, "the lock is damaged: unsupported 'lockfile-version'")
        assertRefused(
            #"{"lockfile-version": 1, "secrets": {"db": {"provider": "aws", "type": "t", "id": "i", "policy": "current"}}}"#,
            "the lock is damaged: secret 'db' lacks provider, type, id, policy or version")
        assertRefused(
            #"{"lockfile-version": 1, "functions": {"api": {"secrets": []}}}"#, "the lock is damaged: function 'api' lacks secrets or outputs")
        assertRefused(
            #"{"lockfile-version": 1, "environments": {"staging": []}}"#, "the lock is damaged: environment 'staging' is not an object")
        // The version is checked before the entries, and malformed text before either.
        assertRefused(#"{"lockfile-version": 2, "functions": {"api": {}}}"#, "the lock is damaged: unsupported 'lockfile-version'")
        assertRefused(#"{"lockfile-version": 2, "functions": {"api": {}}, "x": [1,]}"#, "the lock is not valid JSON (invalid value at byte")
        assertRefused(#"{"lockfile-version": 1} {}"#, "the lock is not valid JSON (unexpected text after the JSON value")
        assertRefused(#"{"lockfile-version": 1, "x": "#, "the lock is not valid JSON (unexpected end of JSON")
        assertRefused(#"{"x": "# + String(repeating: "[", count: 300), "the lock is not valid JSON (nesting deeper than 256")
    }
}
