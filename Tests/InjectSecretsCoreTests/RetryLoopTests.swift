import Foundation
import XCTest
@testable import InjectSecretsKit

/// The status table, `Retry-After` and the one retry loop, on a scripted transport: no server.
final class RetryLoopTests: XCTestCase {
    let fast = RetryPolicy(maxAttempts: 4, baseDelay: 0.01, maxDelay: 5, timeLimit: 30)
    let url = URL(string: "https://store.example.com/v1/secret")!

    func answer(_ status: Int, _ headers: [String: String] = [:], body: String = "") -> ScriptedTransport.Step {
        .respond(HTTPResponse(status: status, headers: headers, body: Data(body.utf8)))
    }

    /// Sends one GET through an `HTTPClient` on `script` under `policy`.
    func send(
        _ script: ScriptedTransport, policy: RetryPolicy? = nil, retrying: RetryPolicy.Retryable = .standard
    ) async throws -> RetryPolicy.Outcome {
        let client = HTTPClient(transport: script, proxyEnvironment: [:])
        let request = HTTPRequest(method: "GET", url: url)
        return try await (policy ?? fast).send({ _ in try await client.send(request) }, retrying: retrying)
    }

    // MARK: the table

    func testTheRuleByStatus() {
        let rule: [(Int, ProviderFailure.Kind)] = [
            (401, .authentication), (403, .accessDenied), (404, .notFound), (410, .notFound), (429, .throttled),
            (503, .throttled), (500, .unreachable), (502, .unreachable), (504, .unreachable), (400, .invalidResponse),
            (409, .invalidResponse), (302, .invalidResponse),
        ]
        for (status, kind) in rule {
            XCTAssertEqual(StatusTable.kind(status: status), kind, "\(status)")
        }
        XCTAssertEqual(StatusTable.noAnswer, .unreachable)
    }

    func testDocumentedCodesDecideBeforeTheStatus() {
        // AWS answers these with 400 (Secrets Manager's CommonErrors page), and InvalidClientTokenId with 403.
        XCTAssertEqual(StatusTable.kind(status: 400, codes: ["ThrottlingException"], asking: .endpoint), .throttled)
        XCTAssertEqual(StatusTable.kind(status: 400, codes: ["AccessDeniedException"], asking: .endpoint), .accessDenied)
        XCTAssertEqual(StatusTable.kind(status: 400, codes: ["UnrecognizedClientException"], asking: .endpoint), .authentication)
        XCTAssertEqual(StatusTable.kind(status: 400, codes: ["InvalidSignatureException"], asking: .endpoint), .authentication)
        XCTAssertEqual(StatusTable.kind(status: 403, codes: ["InvalidClientTokenId"], asking: .endpoint), .authentication)
        XCTAssertEqual(StatusTable.kind(status: 400, codes: ["ResourceNotFoundException"], asking: .endpoint), .notFound)
        XCTAssertEqual(StatusTable.kind(status: 400, codes: ["ParameterVersionNotFound"], asking: .endpoint), .versionNotFound)
        // An unknown code leaves it to the status; the first known code wins.
        XCTAssertEqual(StatusTable.kind(status: 403, codes: [nil, "SomethingNew"], asking: .endpoint), .accessDenied)
        XCTAssertEqual(StatusTable.kind(status: 403, codes: ["SecretDisabled", "Forbidden"]), .versionNotFound)
        // Vault's 403 is "permission denied" for a bad token and a denial alike; its sealed 503 is down, not busy.
        XCTAssertEqual(StatusTable.kind(status: 403, codes: ["permission denied"]), .accessDenied)
        XCTAssertEqual(StatusTable.kind(status: 503, codes: ["Vault is sealed"]), .unreachable)
        XCTAssertEqual(StatusTable.kind(status: 503, codes: ["request rate exceeded"]), .throttled)
    }

    func testWhatWasAskedDecidesA404AndOther4xx() {
        // One AWS endpoint serves every call: a 404 with no code is not the secret's.
        XCTAssertEqual(StatusTable.kind(status: 404, asking: .endpoint), .invalidResponse)
        // A token endpoint that gives no token did not authenticate; 403 and 429 keep their meaning.
        for status in [400, 401, 404, 410] {
            XCTAssertEqual(StatusTable.kind(status: status, asking: .credential), .authentication, "\(status)")
        }
        XCTAssertEqual(StatusTable.kind(status: 403, codes: ["AccessDenied"], asking: .credential), .accessDenied)
        XCTAssertEqual(StatusTable.kind(status: 400, codes: ["InvalidIdentityToken"], asking: .credential), .authentication)
        XCTAssertEqual(StatusTable.kind(status: 429, asking: .credential), .throttled)
        XCTAssertEqual(StatusTable.kind(status: 500, asking: .credential), .unreachable)
    }

    // MARK: Retry-After

    func testRetryAfterInBothForms() {
        func after(_ value: String?, now: Date = Date()) -> TimeInterval? {
            HTTPResponse(status: 429, headers: value.map { ["retry-after": $0] } ?? [:], body: Data()).retryAfter(now: now)
        }
        XCTAssertEqual(after("3"), 3)
        XCTAssertEqual(after(" 0 "), 0)
        XCTAssertEqual(after("1.5"), 1.5)
        XCTAssertEqual(after("-4"), 0, "a negative delay is no delay")
        XCTAssertNil(after(nil))
        XCTAssertNil(after(""))
        XCTAssertNil(after("soon"))
        XCTAssertNil(after("inf"), "not a number of seconds")
        let now = Date(timeIntervalSince1970: 1_764_547_200)  // Mon, 01 Dec 2025 00:00:00 GMT
        XCTAssertEqual(after("Mon, 01 Dec 2025 00:00:07 GMT", now: now), 7)
        XCTAssertEqual(after("Sun, 30 Nov 2025 23:59:00 GMT", now: now), 0, "a date in the past is now")
    }

    // MARK: the loop

    func testThrottledAndUnavailableAnswersAreRetriedHonouringRetryAfter() async throws {
        let script = ScriptedTransport([
            answer(429, ["retry-after": "1"]), answer(503, ["retry-after": "0"]), answer(502), answer(200, body: "ok"),
        ])
        let start = Date()
        let outcome = try await send(script)
        XCTAssertEqual(outcome.response.status, 200)
        XCTAssertEqual(String(decoding: outcome.response.body, as: UTF8.self), "ok")
        XCTAssertEqual(outcome.attempts, 4)
        XCTAssertEqual(outcome.attemptsNote, " (after 4 attempts)")
        XCTAssertEqual(script.sent.count, 4)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.9, "waited the second Retry-After asked for")
    }

    func testRefusalsAreNotRetriedAndComeBackAsTheyAre() async throws {
        for status in [400, 401, 403, 404] {
            let script = ScriptedTransport([answer(status, body: "{\"errors\":[]}"), answer(200)])
            let outcome = try await send(script)
            XCTAssertEqual(outcome.response.status, status)
            XCTAssertEqual(outcome.attempts, 1)
            XCTAssertEqual(outcome.attemptsNote, "")
            XCTAssertEqual(script.sent.count, 1, "\(status) was not sent again")
        }
    }

    func testTheLastAnswerIsReturnedWhenAttemptsRunOut() async throws {
        let script = ScriptedTransport([answer(429, ["retry-after": "0"], body: "slow down")])
        let outcome = try await send(script)
        XCTAssertEqual(outcome.response.status, 429)
        XCTAssertEqual(String(decoding: outcome.response.body, as: UTF8.self), "slow down")
        XCTAssertEqual(outcome.attempts, 4)
        XCTAssertNil(outcome.deadline)
        XCTAssertEqual(script.sent.count, 4)
    }

    func testTheCallerSaysWhatIsRetryable() async throws {
        let script = ScriptedTransport([answer(412), answer(429), answer(200)])
        let outcome = try await send(script, retrying: RetryPolicy.Retryable(statuses: [412]))
        XCTAssertEqual(outcome.response.status, 429, "412 retried; 429 not, as this caller said")
        XCTAssertEqual(script.sent.count, 2)
    }

    func testTheRunDeadlineStopsRetriesAndSaysSo() async throws {
        let script = ScriptedTransport([answer(503, ["retry-after": "3"])])
        let start = Date()
        let outcome = try await RunDeadline.$current.withValue(RunDeadline(seconds: 1)) {
            try await send(script)
        }
        XCTAssertEqual(outcome.response.status, 503)
        XCTAssertEqual(script.sent.count, 1, "a 3 s wait does not fit in what is left of a 1 s run")
        XCTAssertNotNil(outcome.deadline)
        XCTAssertTrue(outcome.attemptsNote.contains("--timeout of 1 s ran out"), outcome.attemptsNote)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5, "did not sleep the wait first")
    }

    func testNetworkFailuresAreRetriedButHopelessOnesNever() async throws {
        let flaky = ScriptedTransport([.fail(.network, "connection reset"), .fail(.timedOut, "stalled"), answer(200)])
        let outcome = try await send(flaky)
        XCTAssertEqual(outcome.response.status, 200)
        XCTAssertEqual(outcome.attempts, 3)

        for kind in [HTTPTransportError.Kind.tooLarge, .tls, .deadline, .refused] {
            let script = ScriptedTransport([.fail(kind, "no"), answer(200)])
            do {
                _ = try await send(script)
                XCTFail("\(kind) was retried into a success")
            } catch let failure as RetryFailure {
                XCTAssertEqual((failure.underlying as? HTTPTransportError)?.kind, kind)
                XCTAssertEqual(failure.attempts, 1)
            }
            XCTAssertEqual(script.sent.count, 1, "\(kind) is never sent again")
        }

        let noEndpoint = ScriptedTransport([.fail(.network, "refused"), answer(200)])
        do {
            _ = try await send(noEndpoint, retrying: RetryPolicy.Retryable(statuses: [429], transportFailures: false))
            XCTFail("a caller that does not retry transport failures got a second attempt")
        } catch let failure as RetryFailure {
            XCTAssertTrue(failure.underlying is HTTPTransportError)
        }
        XCTAssertEqual(noEndpoint.sent.count, 1)
    }

    func testOtherErrorsEndTheLoopAsTheyAre() async throws {
        let policy = fast
        do {
            _ = try await policy.send({ _ in throw ProviderFailure(.configuration, "no signer") }, retrying: .standard)
            XCTFail("no error")
        } catch let failure as RetryFailure {
            XCTAssertEqual((failure.underlying as? ProviderFailure)?.kind, .configuration)
            XCTAssertEqual(failure.attempts, 1)
        }
    }
}
