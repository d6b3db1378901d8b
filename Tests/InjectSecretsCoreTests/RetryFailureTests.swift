import Foundation
import XCTest
@testable import InjectSecretsKit

/// `RetryFailure.providerFailure`, the one reading of the retry loop's last error that every store and
/// credential source uses: the kind the audit log records and the words a user reads.
final class RetryFailureTests: XCTestCase {
    let fast = RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 1, timeLimit: 30)
    let url = URL(string: "https://store.example.com/v1/token")!

    /// The loop's final error for an attempt that always does `attempt`.
    func lastError(_ attempt: @escaping @Sendable () async throws -> HTTPResponse) async -> RetryFailure? {
        do {
            _ = try await fast.send({ _ in try await attempt() }, retrying: .standard)
            return nil
        } catch {
            return error as? RetryFailure
        }
    }

    func testNoAnswerNamesThePlaceTheAttemptsAndHidesWhatTheRequestCarried() async throws {
        let token = "canary-token-8f31c2"
        let script = ScriptedTransport([.fail(.network, "reset while sending \(token)")])
        let client = HTTPClient(transport: script, proxyEnvironment: [:])
        let request = HTTPRequest(method: "GET", url: url)
        let last = await lastError { try await client.send(request) }
        let failure = try XCTUnwrap(last)
        let provider = failure.providerFailure(reaching: "the token service", lead: "login: ", hiding: [token, nil])
        XCTAssertEqual(provider.kind, StatusTable.noAnswer)
        XCTAssertEqual(
            provider.detail, "login: cannot reach the token service (after 3 attempts): reset while sending <redacted>")
        XCTAssertFalse(provider.message.contains(token), provider.message)
    }

    func testAnEndpointRefusedByPolicyIsConfiguration() async throws {
        let last = await lastError { _ = try EndpointPolicy.checked("http://store.example.com"); throw TestError() }
        let failure = try XCTUnwrap(last)
        let provider = failure.providerFailure(reaching: "the store", lead: "VAULT_ADDR: ")
        XCTAssertEqual(provider.kind, .configuration)
        XCTAssertTrue(provider.detail.hasPrefix("VAULT_ADDR: "), provider.detail)
        XCTAssertFalse(provider.detail.contains("cannot reach"), provider.detail)
    }

    func testAStoreFailureThrownByAnAttemptIsKeptAsItIs() async throws {
        let refused = ProviderFailure(.authentication, "the credential file is empty")
        let last = await lastError { throw refused }
        let failure = try XCTUnwrap(last)
        XCTAssertEqual(failure.providerFailure(reaching: "the store", lead: "ignored: "), refused)
    }

    func testAnythingElseIsUnreachableWithItsText() async throws {
        let last = await lastError { throw TestError() }
        let failure = try XCTUnwrap(last)
        let provider = failure.providerFailure(reaching: "the store")
        XCTAssertEqual(provider.kind, .unreachable)
        XCTAssertEqual(provider.detail, "TestError()")
    }

    struct TestError: Error {}
}
