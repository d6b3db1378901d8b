import XCTest
@testable import InjectSecretsKit

/// The one bounded wait: a rotation waiting for the store's function, a deploy waiting for `Successful`.
final class BoundedWaitTests: XCTestCase {
    func testChecksAtOnceThenAfterTheFirstPauseThenEveryPause() async throws {
        var checks: [Date] = []
        let started = Date()
        let held = try await BoundedWait.until(limit: 5, first: 0.3, every: 0.1) {
            checks.append(Date())
            return checks.count == 3
        }
        XCTAssertTrue(held)
        XCTAssertEqual(checks.count, 3)
        XCTAssertLessThan(checks[0].timeIntervalSince(started), 0.25, "the first check is not delayed")
        XCTAssertGreaterThanOrEqual(checks[1].timeIntervalSince(checks[0]), 0.3, "then the first pause")
        XCTAssertGreaterThanOrEqual(checks[2].timeIntervalSince(checks[1]), 0.1, "then every pause")
        XCTAssertLessThan(checks[2].timeIntervalSince(checks[1]), 0.3, "not the first pause again")
    }

    func testGivesUpAtTheLimitAndPassesTheConditionsErrorOn() async throws {
        var checks = 0
        let held = try await BoundedWait.until(limit: 0.2, every: 0.05) {
            checks += 1
            return false
        }
        XCTAssertFalse(held)
        XCTAssertGreaterThan(checks, 1)

        struct Failed: Error {}
        var calls = 0
        do {
            _ = try await BoundedWait.until(limit: 5, every: 0.05) {
                calls += 1
                if calls == 2 { throw Failed() }
                return false
            }
            XCTFail("the condition's error ends the wait")
        } catch is Failed {
            XCTAssertEqual(calls, 2)
        }
    }
}
