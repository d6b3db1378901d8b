import Foundation
import XCTest
@testable import InjectSecretsCore
@testable import InjectSecretsKit
import TestSupport

final class RuntimeReferenceRenderTests: XCTestCase {
    var directory: URL!
    let engine = InjectSecrets(registry: ProviderRegistry(kinds: [MemoryStore.self, FileStore.self]))
    let dbValue = Canary("ref-db").value
    let apiValue = Canary("ref-api").value

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("refs")
        MemoryStore.state.reset()
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    var options: RunOptions {
        RunOptions(
            manifestURL: directory.appendingPathComponent("inject-secrets.yaml"), displayPath: "inject-secrets.yaml",
            processEnvironment: [:])
    }

    func writeManifest(_ env: String) throws {
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  mem: { type: memory }
                secrets:
                  db: { provider: mem, id: app/db }
                  api: { provider: mem, id: app/api }
                functions:
                  app:
                    env: \(env)
                    outputs: [{ format: json }]
                """,
        ], in: directory)
    }

    /// Every file below the folder (outputs, lock, render record): no referenced value may be in any.
    func assertNoReferencedValue(file: StaticString = #filePath, line: UInt = #line) {
        for (path, text) in filesBelow(directory) {
            XCTAssertFalse(text.contains(dbValue), "the referenced value is in \(path)", file: file, line: line)
        }
    }

    func output(_ report: RenderReport) throws -> [String: String] {
        let path = try XCTUnwrap(report.outputs.first?.path)
        let data = try Data(contentsOf: directory.appendingPathComponent(path))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: String])
    }

    func lockedVersion(_ name: String) throws -> String? {
        try LockFile.read(at: directory.appendingPathComponent("inject-secrets.lock"), displayPath: "lock")?.section(for: nil).secrets[name]?.version
    }

    func testARefOnlySecretIsResolvedFromMetadataAndItsPinnedVersionIsLockedAndDrifts() async throws {
        MemoryStore.state.put("app/db", version: "v1", value: #"{"password": "\#(dbValue)"}"#)
        MemoryStore.state.put("app/api", version: "a1", value: apiValue)
        try writeManifest(#"{ DB: "${ref.db.password}", API: "${secrets.api}", WHOLE: "${ref.db}" }"#)

        var audited = options
        audited.auditLogURL = directory.appendingPathComponent("audit.jsonl")
        let first = try await engine.render(audited)
        let records = try String(contentsOf: audited.auditLogURL!, encoding: .utf8).split(separator: "\n")
            .map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(records.first { $0["secret"] as? String == "db" }?["read"] as? String, "metadata")
        XCTAssertEqual(records.first { $0["secret"] as? String == "db" }?["version"] as? String, "v1")
        XCTAssertNil(records.first { $0["secret"] as? String == "api" }?["read"], "a value read is not marked metadata")
        XCTAssertEqual(try output(first), ["DB": "ref memory://app/db v1 password", "WHOLE": "ref memory://app/db v1", "API": apiValue])
        XCTAssertEqual(MemoryStore.state.reads.values, ["app/api": 1], "render read the value of a secret it only references")
        XCTAssertEqual(MemoryStore.state.reads.metadata, ["app/db": 1])
        XCTAssertEqual(try lockedVersion("db"), "v1")
        let lock = try String(contentsOf: directory.appendingPathComponent("inject-secrets.lock"), encoding: .utf8)
        XCTAssertTrue(lock.contains("memory://app/db"), lock)
        assertNoReferencedValue()

        // The same lock renders the same reference, byte for byte.
        let outputPath = directory.appendingPathComponent(first.outputs[0].path)
        let before = try Data(contentsOf: outputPath)
        let again = try await engine.render(options)
        XCTAssertFalse(again.lockChanged)
        XCTAssertEqual(try Data(contentsOf: outputPath), before)

        // A rotation makes the pinned reference old: drift says so, and render moves it.
        MemoryStore.state.put("app/db", version: "v2", value: #"{"password": "\#(Canary("ref-db2").value)"}"#)
        let drift = try await engine.drift(options)
        XCTAssertEqual(drift.entries.map(\.kind), [.rotated], "\(drift.entries.map(\.message))")
        XCTAssertEqual(drift.entries.first?.secret, "db")
        XCTAssertEqual(drift.entries.first?.functions, ["app"])

        // --locked renders the lock's version, not the store's current one.
        let locked = try await engine.render(options, locked: true)
        XCTAssertEqual(try output(locked)["DB"], "ref memory://app/db v1 password")

        let moved = try await engine.render(options)
        XCTAssertEqual(moved.secrets.first { $0.name == "db" }?.previous, "v1")
        XCTAssertEqual(try output(moved)["DB"], "ref memory://app/db v2 password")
        XCTAssertEqual(try lockedVersion("db"), "v2")
        let clean = try await engine.drift(options)
        XCTAssertEqual(clean.entries.map(\.kind), [])
        XCTAssertEqual(MemoryStore.state.reads.values["app/db"], nil, "no run read the referenced value")
        assertNoReferencedValue()
    }

    func testLockedRenderOfAReferenceWhoseVersionIsGoneFailsAndWritesNothing() async throws {
        MemoryStore.state.put("other", version: "v1", value: dbValue)
        try writeManifest(#"{ DB: "${ref.db}" }"#)
        MemoryStore.state.put("app/db", version: "v1", value: dbValue)
        _ = try await engine.render(options)
        let lockBefore = try Data(contentsOf: directory.appendingPathComponent("inject-secrets.lock"))
        MemoryStore.state.reset()
        MemoryStore.state.put("app/db", version: "v2", value: dbValue)
        do {
            _ = try await engine.render(options, locked: true)
            XCTFail("render --locked succeeded with its version gone")
        } catch let error as InjectSecretsError {
            XCTAssertEqual(error.kind, .storeFailure)
            XCTAssertTrue(error.description.contains("secret 'db'") && error.description.contains("gone"), error.description)
        }
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("inject-secrets.lock")), lockBefore)
        XCTAssertEqual(MemoryStore.state.reads.values, [:])
    }

    func testAFollowingReferenceRendersTheStageAndDriftNotesThatTheFunctionFollowsRotations() async throws {
        MemoryStore.state.put("app/db", version: "v1", value: dbValue)
        try writeManifest(#"{ DB: "${ref.db:current}" }"#)
        let report = try await engine.render(options)
        XCTAssertEqual(try output(report), ["DB": "ref memory://app/db current"])
        XCTAssertEqual(try lockedVersion("db"), "v1", "the lock still records the version current at render")

        MemoryStore.state.put("app/db", version: "v2", value: dbValue)
        let drift = try await engine.drift(options)
        XCTAssertEqual(drift.entries.map(\.kind), [], "\(drift.entries.map(\.message))")
        XCTAssertTrue(drift.notes.contains { $0.contains("db (app/db) rotated (locked v1, current v2): app follows rotations by itself") }, "\(drift.notes)")

        // The same secret also pinned elsewhere: the rotation is drift again.
        try writeManifest(#"{ DB: "${ref.db:current}", PINNED: "${ref.db}" }"#)
        _ = try await engine.render(options, locked: false)
        MemoryStore.state.put("app/db", version: "v3", value: dbValue)
        let pinned = try await engine.drift(options)
        XCTAssertEqual(pinned.entries.map(\.kind), [.rotated])
        assertNoReferencedValue()
    }

    func testStoresWithoutARuntimeResolverAndMisplacedReferencesAreLocatedErrors() throws {
        try writeFiles(["store.yaml": "db: { current: '1', versions: { '1': x } }\n"], in: directory)
        let cases: [(env: String, message: String, column: Int)] = [
            (#"{ DB: "${ref.local}" }"#, "store of type 'file', which nothing resolves at run time", 17),
            (#"{ DB: "pre-${ref.db}" }"#, "must be the whole value", 21),
            (#"{ DB: "${ref.nope}" }"#, "undeclared secret 'nope'", 17),
            (#"{ DB: "${ref.db.}" }"#, "a field name after '.'", 17),
            (#"{ DB: "${ref.db:latest}" }"#, "'db:latest' is not a secret name", 17),
        ]
        for (env, message, column) in cases {
            try writeFiles([
                "inject-secrets.yaml": """
                    version: 1
                    providers:
                      mem: { type: memory }
                      files: { type: file, path: store.yaml }
                    secrets:
                      db: { provider: mem, id: app/db }
                      local: { provider: files, id: db }
                    functions:
                      app:
                        env: \(env)
                    """,
            ], in: directory)
            XCTAssertThrowsError(try engine.validate(options), env) { error in
                guard let error = error as? InjectSecretsError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.kind, .badInput, env)
                let diagnostic = error.diagnostics.first { $0.message.contains(message) }
                XCTAssertNotNil(diagnostic, "\(env): \(error.description)")
                XCTAssertEqual(diagnostic?.location?.line, 10, env)
                XCTAssertEqual(diagnostic?.location?.column, column, env)
            }
        }
    }

    func testTemplateSyntaxOfReferences() throws {
        let origin = TemplateParser.Origin(location: SourceLocation(path: "m.yaml", line: 3, column: 10))
        let cases: [(String, TemplateReference.Kind)] = [
            ("${ref.db}", .runtime(name: "db", field: nil, follows: false)),
            ("${ref.db.password}", .runtime(name: "db", field: "password", follows: false)),
            (#"${ref.db["a.b:current"]}"#, .runtime(name: "db", field: "a.b:current", follows: false)),
            (#"${ref.db["a.b"]:current}"#, .runtime(name: "db", field: "a.b", follows: true)),
            ("${ref.db:current}", .runtime(name: "db", field: nil, follows: true)),
            ("${ref.db.user-name:current}", .runtime(name: "db", field: "user-name", follows: true)),
        ]
        for (text, kind) in cases {
            let template = try TemplateParser.parse(text, origin: origin)
            XCTAssertEqual(template.references.map(\.kind), [kind], text)
            XCTAssertEqual(template.secretNames, ["db"], text)
            XCTAssertEqual(template.valueSecretNames, [], text)
        }
        XCTAssertEqual(try TemplateParser.parse("$${ref.db}", origin: origin).references, [], "$${ stays literal")
        for bad in ["${ref.db} ", "x${ref.db}", "${ref.db}${ref.db}", "${ref.}", "${ref.db:Current}", #"${ref.db["a}"#] {
            XCTAssertThrowsError(try TemplateParser.parse(bad, origin: origin), bad) { error in
                XCTAssertEqual((error as? InjectSecretsError)?.diagnostics.first?.location?.line, 3, bad)
            }
        }
    }
}
