@testable import InjectSecretsCore
@testable import InjectSecretsKit
import Foundation
import TestSupport
import XCTest

/// `rotate --due` in-process on the memory store: a generator, the store's own rotation (done, and stuck
/// pending past the bounded wait), nothing due, a due secret with no way to get a value, and `--dry-run`;
/// with the audit record each rotation writes.
final class DueRotationTests: XCTestCase {
    var directory: URL!
    let canary = Canary("due")
    let engine = InjectSecrets(registry: ProviderRegistry(kinds: [MemoryStore.self]))

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("due-rotation")
        MemoryStore.state.reset()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    var audit: URL { directory.appendingPathComponent("audit.jsonl") }

    func options() -> RunOptions {
        var options = RunOptions(
            manifestURL: directory.appendingPathComponent("inject-secrets.yaml"), displayPath: "inject-secrets.yaml",
            processEnvironment: [:])
        options.auditLogURL = audit
        return options
    }

    /// `db` has a generator, `token` none, `api` none either; all three every 30d, read by `app`
    /// (`api` also by `web`). Renders to lock them.
    func project(db: Double, token: Double, api: Double) async throws {
        for (id, days) in [("prod/db", db), ("app/token", token), ("app/api", api)] {
            MemoryStore.state.put(id, [.init(id: "1", value: "\(canary.value)-\(id)", created: .daysAgo(days))])
        }
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  mem: { type: memory }
                defaults:
                  rotation: { every: 30d }
                secrets:
                  db: { provider: mem, id: prod/db, rotation: { generate: { length: 32 } } }
                  token: { provider: mem, id: app/token }
                  api: { provider: mem, id: app/api }
                functions:
                  app:
                    env: { DB: "${secrets.db}", TOKEN: "${secrets.token}", API: "${secrets.api}" }
                  web:
                    env: { API: "${secrets.api}" }
                """,
        ], in: directory)
        _ = try await engine.render(options())
    }

    func auditText() -> String { (try? String(contentsOf: audit, encoding: .utf8)) ?? "" }

    func rotateRecords() throws -> [[String: Any]] {
        try auditText().split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["operation"] as? String == "rotate" }
    }

    func testAGeneratorRotatesTheDueSecretAndNamesTheStaleFunctions() async throws {
        try await project(db: 40, token: 1, api: 1)
        let report = try await engine.rotateDue(options(), dryRun: false)
        XCTAssertTrue(report.succeeded)
        XCTAssertEqual(report.rotations.map(\.secret), ["db"])
        XCTAssertEqual(report.rotations[0].method, .generate(length: 32, key: nil))
        XCTAssertEqual(report.rotations[0].overdue.age, 40)
        guard case .rotated(let rotation) = report.rotations[0].outcome else { return XCTFail("\(report.rotations[0].outcome)") }
        XCTAssertEqual(rotation.previous, "1")
        XCTAssertEqual(rotation.version, "2")
        XCTAssertEqual(rotation.staleFunctions, ["app"])
        let written = try XCTUnwrap(MemoryStore.state.versions("prod/db")?.last)
        XCTAssertEqual(written.value.count, 32)
        XCTAssertTrue(written.value.allSatisfy { SecretGenerator.alphabet.contains($0) })

        let records = try rotateRecords()
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?["secret"] as? String, "db")
        XCTAssertEqual(records.first?["version"] as? String, "2")
        XCTAssertEqual(records.first?["outcome"] as? String, "ok")
        XCTAssertEqual(records.first?["functions"] as? [String], ["app"])
        XCTAssertFalse(auditText().contains(written.value), "the audit log holds no value")
        XCTAssertFalse(auditText().contains(canary.value))

        // Rotated, no longer due: only `rotated` drift is left, which render clears.
        let again = try await engine.rotateDue(options(), dryRun: false)
        XCTAssertTrue(again.rotations.isEmpty && again.succeeded)
    }

    func testNothingDueAndADueSecretWithNoWay() async throws {
        try await project(db: 1, token: 1, api: 1)
        var report = try await engine.rotateDue(options(), dryRun: false)
        XCTAssertTrue(report.rotations.isEmpty && report.succeeded)

        try await project(db: 1, token: 50, api: 1)
        report = try await engine.rotateDue(options(), dryRun: false)
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(report.rotations.map(\.secret), ["token"])
        guard case .noWay(let reason) = report.rotations[0].outcome else { return XCTFail("\(report.rotations[0].outcome)") }
        XCTAssertTrue(reason.contains("no 'rotation.generate'") && reason.contains("RotationEnabled is false"), reason)
        XCTAssertEqual(MemoryStore.state.versions("app/token")?.count, 1, "nothing written")
    }

    func testTheStoresOwnRotationAndABoundedWaitWhenItStaysPending() async throws {
        try await project(db: 1, token: 50, api: 60)
        MemoryStore.state.selfRotating = ["app/token", "app/api"]
        MemoryStore.state.stuck = ["app/api"]
        let started = Date()
        let report = try await engine.rotateDue(options(), dryRun: false, rotationWait: 1.5)
        XCTAssertLessThan(Date().timeIntervalSince(started), 60, "the wait is bounded")
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(report.rotations.map(\.secret), ["api", "token"])
        guard case .failed(let error) = report.rotations[0].outcome else { return XCTFail("\(report.rotations[0].outcome)") }
        XCTAssertEqual(error.kind, .storeFailure)
        let message = error.diagnostics.map(\.description).joined()
        XCTAssertTrue(message.contains("started (version 2) but the current version is still 1 after 1 s"), message)
        guard case .rotated(let rotation) = report.rotations[1].outcome else { return XCTFail("\(report.rotations[1].outcome)") }
        XCTAssertTrue(rotation.storeRotation)
        XCTAssertEqual(rotation.version, "2")
        XCTAssertEqual(rotation.staleFunctions, ["app"])
        let records = try rotateRecords()
        XCTAssertEqual(records.map { "\($0["secret"]!):\($0["outcome"]!)" }.sorted(), ["api:failed", "token:ok"])
        XCTAssertFalse(auditText().contains(canary.value))
    }

    func testDryRunSaysWhatItWouldDoAndWritesNothing() async throws {
        try await project(db: 40, token: 50, api: 1)
        MemoryStore.state.selfRotating = ["app/token"]
        let report = try await engine.rotateDue(options(), dryRun: true)
        XCTAssertEqual(report.rotations.map(\.secret), ["db", "token"])
        XCTAssertEqual(report.rotations.map(\.method), [.generate(length: 32, key: nil), .store])
        XCTAssertTrue(report.rotations.allSatisfy { if case .wouldRotate = $0.outcome { return true } else { return false } })
        XCTAssertEqual(MemoryStore.state.versions("prod/db")?.count, 1)
        XCTAssertEqual(MemoryStore.state.versions("app/token")?.count, 1)
        XCTAssertEqual(try rotateRecords().count, 0)
    }

    func testPlainRotateWithoutAValueUsesTheStoresRotationOnlyWhereItHasOne() async throws {
        try await project(db: 1, token: 1, api: 1)
        MemoryStore.state.selfRotating = ["app/token"]
        let report = try await engine.rotate(options(), secret: "token", key: nil, value: nil)
        XCTAssertTrue(report.storeRotation)
        XCTAssertEqual(report.version, "2")
        do {
            _ = try await engine.rotate(options(), secret: "api", key: nil, value: nil)
            XCTFail("api has no store rotation")
        } catch let error as InjectSecretsError {
            XCTAssertEqual(error.kind, .badInput)
            XCTAssertTrue(error.diagnostics[0].message.contains("no rotation configured for it"), error.diagnostics[0].message)
        }
    }
}
