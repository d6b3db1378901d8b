@testable import InjectSecretsCore
@testable import InjectSecretsKit
@testable import InjectSecretsVault
import Foundation
import TestSupport
import XCTest

/// The rules for text that reaches a message: control characters escaped, store text relayed as one
/// bounded line, values and credentials of the run scrubbed, "did you mean" within a fixed budget, and
/// the file store's YAML errors quoting nothing of the file.
final class MessageTextTests: XCTestCase {
    func testControlCharactersAreEscapedVisibly() {
        XCTAssertEqual("a\nb\r\tc\u{1B}[2J\u{7F}\u{85}\u{2028}".controlCharactersEscaped, "a\\nb\\r\\tc\\u{1B}[2J\\u{7F}\\u{85}\\u{2028}")
        XCTAssertEqual("plain é ✓".controlCharactersEscaped, "plain é ✓")
        let diagnostic = Diagnostic.error("secret 'x\n::stop-commands::y' not found", at: SourceLocation(path: "m\n.yaml", line: 1, column: 2))
        XCTAssertEqual(diagnostic.description, "m\\n.yaml:1:2: error: secret 'x\\n::stop-commands::y' not found")
    }

    func testRelayedStoreTextIsOneBoundedLine() {
        XCTAssertEqual(RelayedText.line("\n  permission denied  \nsecond line with a token"), "permission denied")
        XCTAssertEqual(RelayedText.line("bad\u{1B}]0;title\u{07}"), "bad\\u{1B}]0;title\\u{7}")
        let long = RelayedText.line(String(repeating: "a", count: 1000))
        XCTAssertEqual(long, String(repeating: "a", count: RelayedText.maxCharacters) + "...")
        XCTAssertEqual(RelayedText.line(" \n "), "")
    }

    func testVaultErrorsAreRelayedAsOneBoundedLine() {
        let body = #"{"errors": ["1 error occurred:\n\t* permission denied\n\n", "\u001b[31m" , "\#(String(repeating: "z", count: 500))"]}"#
        let text = VaultResponse(status: 403, body: Data(body.utf8)).errorsText
        XCTAssertTrue(text.hasPrefix("permission denied; \\u{1B}[31m; zzz"), text)
        XCTAssertLessThanOrEqual(text.count, RelayedText.maxCharacters + 3)
        XCTAssertFalse(text.contains("\n"))
    }

    func testTheRunRedactorScrubsValuesFieldsAndCredentials() {
        let value = Canary("whole").value, field = Canary("field").value, token = Canary("token").value
        let redactor = RunRedactor()
        redactor.remember(value: SecretValue(value))
        redactor.remember(value: SecretValue(#"{"user": "app", "password": "\#(field)", "port": 54321}"#))
        redactor.remember(credentialsIn: ["VAULT_TOKEN": token, "HOME": "/home/someone"])
        let scrubbed = redactor.scrub("echo \(value) and \(field) on 54321 with \(token) at /home/someone, user app")
        XCTAssertEqual(scrubbed, "echo <redacted> and <redacted> on <redacted> with <redacted> at /home/someone, user app")
    }

    func testDidYouMeanStillSuggestsNearNames() {
        XCTAssertEqual(closestMatch(to: "fiel", in: ["file", "vault"]), "file")
        XCTAssertEqual(closestMatch(to: "staging", in: ["stagign", "production"]), "stagign")
        XCTAssertNil(closestMatch(to: "abc", in: ["xyz"]))
        XCTAssertEqual(boundedEditDistance(Array("kitten".unicodeScalars), Array("sitting".unicodeScalars), limit: 3), 3)
        XCTAssertNil(boundedEditDistance(Array("kitten".unicodeScalars), Array("sitting".unicodeScalars), limit: 2))
        XCTAssertNil(closestMatch(to: String(repeating: "a", count: 65), in: [String(repeating: "a", count: 65)]))
    }

    func testFileStoreParseErrorsQuoteNothingOfTheFile() throws {
        let anchor = Canary("anchor").value
        // A reader error (a control character) comes before any node is read: no entry is known then.
        let cases: [(String, String, String?)] = [
            ("a:\n  current: \"1\"\n  versions: { \"1\": { p: &\(anchor) } }\nb:\n  versions: { \"1\": *\(anchor)x }\n", "5:20", "b"),
            ("a:\n  versions:\n    \"1\": x\n    \"1\": \(anchor)\n", "4:5", "a"),
            ("a:\n  versions: { \"1\": \"\(anchor)\u{01}\" }\n", "2:", nil),
            ("a:\n  versions: { \"1\": @\(anchor) }\n", "2:20", "a"),
        ]
        for (text, place, entry) in cases {
            XCTAssertThrowsError(try YAMLReader.readWithholdingText(Data(text.utf8), path: "store.yaml")) { error in
                guard let failure = error as? YAMLReader.WithheldFailure else { return XCTFail("\(error)") }
                XCTAssertFalse(failure.message.contains(anchor), failure.message)
                XCTAssertFalse(failure.message.contains("did you mean"), failure.message)
                XCTAssertTrue(failure.location?.description.hasPrefix("store.yaml:\(place)") ?? false, "\(failure.location as Any) for \(text)")
                XCTAssertEqual(failure.entry, entry, text)
            }
        }
    }
}

/// A store that echoes what it knows into its failures, as a hostile or careless store would: the value
/// it returned for one secret and the token it was given, in the error for another.
struct EchoingStore: SecretProvider, SecretProviderKind {
    static let typeName = "echoing"
    static let settingKeys: [String] = []
    static let token = Canary("echo-token").value
    static let value = Canary("echo-value").value
    static let field = Canary("echo-field").value

    let name: String
    static func settings(_ declaration: ProviderDeclaration) -> String { declaration.name }
    static func make(_ name: String) -> any SecretProvider { EchoingStore(name: name) }

    func fetch(_ references: [SecretReference]) async -> [SecretReference: Result<FetchedSecret, ProviderFailure>] {
        var results: [SecretReference: Result<FetchedSecret, ProviderFailure>] = [:]
        for reference in references {
            switch reference.id {
            case "plain": results[reference] = .success(FetchedSecret(version: "1", value: SecretValue(Self.value)))
            case "json": results[reference] = .success(FetchedSecret(version: "1", value: SecretValue(#"{"password": "\#(Self.field)"}"#)))
            default:
                results[reference] = .failure(ProviderFailure(
                    .accessDenied, "denied; request was {\"value\": \"\(Self.value)\", \"password\": \"\(Self.field)\"}",
                    relayed: "the token \(Self.token) may not read this"))
            }
        }
        return results
    }

    func inspect(_ queries: [VersionQuery]) async -> [Result<VersionStatus, ProviderFailure>] { [] }

    func credentialsInUse() async -> [String] { [Self.token] }
}

final class RunRedactionTests: XCTestCase {
    /// Every store failure passes the engine's one redaction point: values read in the same run, each
    /// field of a JSON value and the store's credentials are replaced in the diagnostic and the audit log.
    func testStoreFailuresAreScrubbedOfTheRunsValuesAndCredentials() async throws {
        let directory = try makeTemporaryDirectory("redaction")
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  echo: { type: echoing }
                secrets:
                  a: { provider: echo, id: plain }
                  b: { provider: echo, id: json }
                  c: { provider: echo, id: refused }
                functions:
                  app:
                    env: { A: "${secrets.a}", B: "${secrets.b.password}", C: "${secrets.c}" }
                """,
        ], in: directory)
        var options = RunOptions(
            manifestURL: directory.appendingPathComponent("inject-secrets.yaml"), displayPath: "inject-secrets.yaml",
            processEnvironment: [:])
        options.auditLogURL = directory.appendingPathComponent("audit.jsonl")
        let engine = InjectSecrets(registry: ProviderRegistry(kinds: [EchoingStore.self]))
        do {
            _ = try await engine.render(options)
            XCTFail("render succeeded")
        } catch let error as InjectSecretsError {
            XCTAssertEqual(error.kind, .storeFailure)
            let text = error.description
            let audit = try String(contentsOf: options.auditLogURL!, encoding: .utf8)
            for canary in [EchoingStore.value, EchoingStore.field, EchoingStore.token] {
                XCTAssertFalse(text.contains(canary), text)
                XCTAssertFalse(audit.contains(canary), audit)
            }
            XCTAssertTrue(text.contains("secret 'c'") && text.contains("denied; request was {\"value\": \"<redacted>\""), text)
            XCTAssertTrue(audit.contains("the store said: the token <redacted> may not read this"), audit)
        }
    }
}
