import Foundation
import XCTest
@testable import InjectSecretsKit
@testable import InjectSecretsVault
import TestSupport

/// Throttling, sealed and failing servers: OpenBao cannot be made to answer 429 or 503 on demand, so a
/// scripted transport answers a planned sequence of Vault answers before a normal KV answer.
final class VaultRetryTests: XCTestCase {
    static let messages = [
        429: "request path \"secret/data/app/db\": rate limit quota exceeded", 503: "Vault is sealed",
        500: "internal error", 403: "1 error occurred:\n\t* permission denied\n\n",
    ]

    /// Vault's answer with `status`: its `errors` body, `Retry-After: 0` on a 429.
    static func vault(_ status: Int, retryAfter: String? = nil) -> ScriptedTransport.Step {
        let body = try! JSONSerialization.data(withJSONObject: ["errors": [messages[status] ?? "error"]])
        var headers = ["content-type": "application/json"]
        if let after = retryAfter ?? (status == 429 ? "0" : nil) { headers["retry-after"] = after }
        return .respond(HTTPResponse(status: status, headers: headers, body: body))
    }

    static let entry: ScriptedTransport.Step = .respond(HTTPResponse(
        status: 200, headers: ["content-type": "application/json"],
        body: Data(#"{"data":{"data":{"user":"app"},"metadata":{"version":4,"deletion_time":"","destroyed":false,"created_time":"2026-11-29T00:00:00Z","custom_metadata":null}}}"#.utf8)))

    /// A provider whose requests `script` answers.
    func start(_ script: ScriptedTransport, namespace: String? = nil) throws -> VaultProvider {
        let namespaceSetting = namespace.map { ", namespace: \($0)" } ?? ""
        return try makeVaultProvider(
            "{type: vault, address: 'http://127.0.0.1:8200'\(namespaceSetting)}", environment: ["VAULT_TOKEN": "t"],
            client: HTTPClient(transport: script, proxyEnvironment: [:]),
            retry: RetryPolicy(maxAttempts: 4, baseDelay: 0.01, maxDelay: 5, timeLimit: 10))
    }

    func testThrottlingAndServerErrorsAreRetried() async throws {
        let script = ScriptedTransport([Self.vault(429), Self.vault(502), Self.vault(412), Self.entry])
        let provider = try start(script)
        let fetched = try await provider.fetchOne(reference("db", "app/db")).get()
        XCTAssertEqual(fetched.version, "4")
        XCTAssertEqual(script.sent.count, 4, "429, 502 and 412 (a replica catching up) are retried")
    }

    func testRetryAfterIsWaited() async throws {
        let script = ScriptedTransport([Self.vault(503, retryAfter: "1"), Self.entry])
        let provider = try start(script)
        let start = Date()
        _ = try await provider.fetchOne(reference("db", "app/db")).get()
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.9)
        XCTAssertEqual(script.sent.count, 2)
    }

    func testPersistentThrottlingIsReportedAsThrottled() async throws {
        let script = ScriptedTransport([Self.vault(429)])
        let provider = try start(script)
        let failure = try expectFailure(await provider.fetchOne(reference("db", "app/db")))
        XCTAssertEqual(failure.kind, .throttled)
        XCTAssertTrue(failure.message.contains("rate limited"), failure.message)
        XCTAssertTrue(failure.message.contains("after 4 attempts"), failure.message)
        XCTAssertTrue(failure.message.contains("rate limit quota exceeded"), "Vault's errors are quoted: \(failure.message)")
        XCTAssertTrue(failure.message.contains("secret/data/app/db"), failure.message)
        XCTAssertEqual(script.sent.count, 4)
    }

    func testSealedServerIsReportedAsSealed() async throws {
        let script = ScriptedTransport([Self.vault(503)])
        let provider = try start(script)
        let query = VersionQuery(reference: reference("db", "app/db"), lockedVersion: "1")
        let failure = try expectFailure(await provider.inspectOne(query))
        XCTAssertEqual(failure.kind, .unreachable, "sealed is down, not busy")
        XCTAssertTrue(failure.message.contains("sealed"), failure.message)
        XCTAssertTrue(failure.message.contains("503"), failure.message)
    }

    func testTheRunDeadlineStopsRetriesAndSaysSo() async throws {
        let script = ScriptedTransport([Self.vault(503, retryAfter: "3")])
        let provider = try start(script)
        let result = await RunDeadline.$current.withValue(RunDeadline(seconds: 1)) {
            await provider.fetchOne(reference("db", "app/db"))
        }
        let failure = try expectFailure(result)
        XCTAssertEqual(script.sent.count, 1, "a 3 s wait does not fit in a 1 s run")
        XCTAssertTrue(failure.message.contains("--timeout of 1 s ran out"), failure.message)
        XCTAssertTrue(failure.message.contains("sealed"), failure.message)
    }

    func testPolicyDenialIsNotRetriedAndReadsCleanly() async throws {
        let script = ScriptedTransport([Self.vault(403), Self.entry])
        let provider = try start(script)
        let failure = try expectFailure(await provider.fetchOne(reference("db", "app/db")))
        XCTAssertEqual(failure.kind, .accessDenied)
        XCTAssertTrue(failure.message.contains("permission denied"), failure.message)
        XCTAssertFalse(failure.message.contains("error occurred"), failure.message)
        XCTAssertEqual(script.sent.count, 1)
    }

    func testRequestShapeWithNamespaceAndVersion() async throws {
        let script = ScriptedTransport([Self.entry])
        let provider = try start(script, namespace: "team/a")
        let refs = [reference("db", "/app/db path/", "3")]
        let results = await provider.fetch(refs)
        XCTAssertNotNil(try results[refs[0]]?.get())
        XCTAssertEqual(script.sent.map { $0.request.url.absoluteString }, ["http://127.0.0.1:8200/v1/secret/data/app/db%20path?version=3"])
        let headers = script.sent.first?.request.headers ?? []
        XCTAssertEqual(headers.first { $0.0 == "X-Vault-Namespace" }?.1, "team/a")
        XCTAssertEqual(headers.first { $0.0 == "X-Vault-Token" }?.1, "t")
    }
}
