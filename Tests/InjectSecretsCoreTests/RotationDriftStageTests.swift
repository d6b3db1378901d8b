@testable import InjectSecretsCore
@testable import InjectSecretsKit
import Foundation
import TestSupport
import XCTest

/// `drift`'s stages run in-process on a store held in memory: the rotation policy (`every`, `warn`,
/// `none`, pinned versions, missing dates), version expiry, and the manifest errors of bad policies.
final class RotationDriftStageTests: XCTestCase {
    var directory: URL!
    let canary = Canary("memory")
    let engine = InjectSecrets(registry: ProviderRegistry(kinds: [MemoryStore.self]))

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("rotation-stages")
        MemoryStore.state.reset()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    func options() -> RunOptions {
        RunOptions(
            manifestURL: directory.appendingPathComponent("inject-secrets.yaml"), displayPath: "inject-secrets.yaml",
            processEnvironment: [:])
    }

    /// Writes the manifest (secrets `db`, `token`, `pem`, each read by function `app`; `pem` also by
    /// `web`), renders to lock them, and returns the drift report.
    func drift(secrets: String, defaults: String = "") async throws -> DriftReport {
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  mem: { type: memory }
                \(defaults.isEmpty ? "" : "defaults:\n  rotation: \(defaults)\n")secrets:
                \(secrets)
                functions:
                  app:
                    env: { DB: "${secrets.db}", TOKEN: "${secrets.token}", PEM: "${secrets.pem}" }
                  web:
                    env: { PEM: "${secrets.pem}" }
                """,
        ], in: directory)
        _ = try await engine.render(options())
        return try await engine.drift(options())
    }

    func seed(_ id: String, created: Date?, expires: Date? = nil, versions: Int = 1) {
        MemoryStore.state.put(id, (1...versions).map {
            .init(id: String($0), value: "\(canary.value)-\(id)-\($0)", created: created, expires: expires)
        })
    }

    /// Everything the report says, as one text, for canary checks.
    func allText(_ report: DriftReport) -> String {
        report.json().serialized() + report.entries.map(\.message).joined() + report.notes.joined()
    }

    func testOverdueWithinWarnAndOptedOutFollowTheirPolicies() async throws {
        seed("prod/db", created: .daysAgo(40))
        seed("app/token", created: .daysAgo(20))
        seed("tls/key", created: .daysAgo(400))
        let report = try await drift(secrets: """
              db: { provider: mem, id: prod/db, rotation: { every: 30d } }
              token: { provider: mem, id: app/token, rotation: { every: 30d, warn: 14d } }
              pem: { provider: mem, id: tls/key, rotation: none }
            """, defaults: "{ every: 90d, warn: 14d }")
        XCTAssertEqual(report.entries.map(\.kind), [.rotationOverdue], "\(report.entries)")
        let overdue = report.entries[0]
        XCTAssertEqual(overdue.secret, "db")
        XCTAssertEqual(overdue.age, 40)
        XCTAssertEqual(overdue.limit, "30d")
        XCTAssertEqual(overdue.functions, ["app"])
        XCTAssertTrue(overdue.message.contains("40 days ago") && overdue.message.contains("30d"), overdue.message)
        XCTAssertEqual(overdue.location?.line, 7)
        let json = overdue.json().object!
        XCTAssertEqual(json["age"], .number("40"))
        XCTAssertEqual(json["limit"], .string("30d"))
        XCTAssertEqual(report.notes.count, 1, "\(report.notes)")
        XCTAssertTrue(report.notes[0].contains("token (app/token)") && report.notes[0].contains("comes in 10 days"), report.notes[0])
        XCTAssertFalse(allText(report).contains(canary.value))
    }

    func testDefaultsApplyToEverySecretAndOnlyPoliciesAskForDates() async throws {
        seed("prod/db", created: .daysAgo(100))
        seed("app/token", created: .daysAgo(100))
        seed("tls/key", created: .daysAgo(100))
        var report = try await drift(secrets: """
              db: { provider: mem, id: prod/db }
              token: { provider: mem, id: app/token, rotation: { every: 120d } }
              pem: { provider: mem, id: tls/key, rotation: none }
            """, defaults: "{ every: 90d }")
        XCTAssertEqual(report.entries.map(\.secret), ["db"])
        XCTAssertEqual(MemoryStore.state.datedQueries, 2)

        MemoryStore.state.reset()
        seed("prod/db", created: .daysAgo(100))
        seed("app/token", created: .daysAgo(100))
        seed("tls/key", created: .daysAgo(100))
        report = try await drift(secrets: """
              db: { provider: mem, id: prod/db }
              token: { provider: mem, id: app/token }
              pem: { provider: mem, id: tls/key }
            """)
        XCTAssertTrue(report.clean, "\(report.entries)")
        XCTAssertEqual(MemoryStore.state.datedQueries, 0, "no policy, no dates asked")
    }

    func testAPinnedVersionIsJudgedByItsOwnDate() async throws {
        MemoryStore.state.put("prod/db", [
            .init(id: "1", value: canary.value + "-old", created: .daysAgo(60)),
            .init(id: "2", value: canary.value + "-new", created: .daysAgo(2)),
        ])
        seed("app/token", created: .daysAgo(1))
        seed("tls/key", created: .daysAgo(1))
        let report = try await drift(secrets: """
              db: { provider: mem, id: prod/db, version: "1", rotation: { every: 30d } }
              token: { provider: mem, id: app/token, rotation: { every: 30d } }
              pem: { provider: mem, id: tls/key }
            """)
        XCTAssertEqual(report.entries.map(\.kind), [.rotationOverdue])
        XCTAssertEqual(report.entries[0].current, "1")
        XCTAssertEqual(report.entries[0].age, 60)
        XCTAssertFalse(allText(report).contains(canary.value))
    }

    func testAStoreWithoutADateGetsANoteNotAGuess() async throws {
        seed("prod/db", created: nil)
        seed("app/token", created: .daysAgo(1))
        seed("tls/key", created: .daysAgo(1))
        let report = try await drift(secrets: """
              db: { provider: mem, id: prod/db, rotation: { every: 1d } }
              token: { provider: mem, id: app/token }
              pem: { provider: mem, id: tls/key }
            """)
        XCTAssertTrue(report.clean, "\(report.entries)")
        XCTAssertEqual(report.notes, ["db (prod/db): the store gives no creation date for version 1, so its rotation age is not checked"])
    }

    func testExpiredAndSoonExpiringLockedVersions() async throws {
        seed("prod/db", created: .daysAgo(1), expires: .inDays(3))
        seed("app/token", created: .daysAgo(1), expires: .inDays(30))
        seed("tls/key", created: .daysAgo(1), expires: .inDays(3))
        // Render while nothing has expired yet, then let `db` expire.
        var report = try await drift(secrets: """
              db: { provider: mem, id: prod/db, rotation: { every: 30d, warn: 7d } }
              token: { provider: mem, id: app/token, rotation: { every: 30d, warn: 7d } }
              pem: { provider: mem, id: tls/key }
            """)
        XCTAssertTrue(report.clean)
        XCTAssertEqual(report.notes.count, 1, "\(report.notes)")
        XCTAssertTrue(report.notes[0].hasPrefix("db (prod/db): locked version 1 expires on"), report.notes[0])
        seed("prod/db", created: .daysAgo(1), expires: .daysAgo(1))
        report = try await engine.drift(options())
        XCTAssertEqual(report.entries.map(\.kind), [.versionExpired])
        XCTAssertEqual(report.entries[0].secret, "db")
        XCTAssertEqual(report.entries[0].functions, ["app"])
        // Without a policy an expired version is drift all the same.
        seed("tls/key", created: .daysAgo(1), expires: .daysAgo(1))
        report = try await engine.drift(options())
        XCTAssertEqual(report.entries.map(\.secret), ["db", "pem"])
        XCTAssertEqual(report.entries[1].functions, ["app", "web"])
        XCTAssertFalse(allText(report).contains(canary.value))
    }

    /// The stage alone, on answers made up here: the limit itself is not past it, a second more is.
    func testTheRotationAgeStageAtItsBoundary() {
        let now = Date()
        let policy = RotationPolicy(every: RotationInterval(parsing: "30d")!, warn: RotationInterval(parsing: "12h"), generate: nil)
        let reference = SecretReference(name: "db", id: "prod/db", policy: .current)
        func stage(_ age: TimeInterval) -> (entries: [DriftReport.Entry], notes: [String]) {
            DriftStage.rotationAge(
                ["db": .success(VersionStatus(selected: "4", created: now.addingTimeInterval(-age)))],
                queries: ["db": VersionQuery(reference: reference, lockedVersion: "4", wantsDates: true)],
                policies: ["db": policy], users: { _ in ["app"] }, now: now)
        }
        XCTAssertEqual(stage(30 * 86_400).entries.count, 0)
        XCTAssertEqual(stage(30 * 86_400).notes, ["db (prod/db) version 4 is 30 days old; its rotation limit of 30d comes in less than a day (warn 12h)"])
        XCTAssertEqual(stage(30 * 86_400 + 1).entries.map(\.age), [30])
        XCTAssertEqual(stage(29 * 86_400).notes, [], "outside warn: nothing to say")
        XCTAssertEqual(RotationInterval(parsing: "12h")?.seconds, 43_200)
        for bad in ["", "d", "0d", "07d", "1.5d", "30", "30D", "1w", "-1d", "1234567d"] { XCTAssertNil(RotationInterval(parsing: bad), bad) }
    }

    func testBadPoliciesAreLocatedManifestErrors() throws {
        let cases: [(String, String, String)] = [
            ("{ every: 30 days }", "5:56", "'every' of 'rotation' of secret 'db' must be a whole number of days or hours"),
            ("{ every: 0d }", "5:56", "must be a whole number of days or hours, such as 30d or 12h, found '0d'"),
            ("{ every: 1.5d }", "5:56", "found '1.5d'"),
            ("{ every: 7d, warn: 7d }", "5:66", "'warn' (7d) of the rotation policy of secret 'db' must be shorter than 'every' (7d)"),
            ("{ warn: 2d }", "5:47", "the rotation policy of secret 'db' needs 'every'"),
            ("{ every: 7d, generate: { length: 3 } }", "5:80", "'length' of 'rotation' of secret 'db' must be a whole number from 8 to 4096"),
            ("{ every: 7d, evry: 1d }", "5:60", "unknown key 'evry'"),
            ("sometimes", "5:47", "must be 'none' or a mapping"),
        ]
        for (policy, place, message) in cases {
            try writeFiles([
                "inject-secrets.yaml": """
                    version: 1
                    providers:
                      mem: { type: memory }
                    secrets:
                      db: { provider: mem, id: prod/db, rotation: \(policy) }
                    functions:
                      app: { env: { DB: "${secrets.db}" } }
                    """,
            ], in: directory)
            XCTAssertThrowsError(try engine.validate(options()), policy) { error in
                guard let failure = error as? InjectSecretsError else { return XCTFail("\(error)") }
                XCTAssertEqual(failure.kind, .badInput, "exit 2")
                let text = failure.diagnostics.map(\.description).joined(separator: "\n")
                XCTAssertTrue(text.contains("inject-secrets.yaml:\(place): error:") && text.contains(message), "\(policy): \(text)")
                XCTAssertEqual(failure.diagnostics.count, 1, "one error per mistake: \(text)")
            }
        }
    }
}
