import Foundation
import XCTest

@testable import InjectSecretsKit

/// The one pagination loop: every store's listing ends the same way, on the last page, on a token
/// served twice, at the page cap, or when the caller has what it wanted.
final class PageSequenceTests: XCTestCase {
    /// Pages "1", "2", ... with `next` as the server gives it; counts the fetches.
    final class Server: @unchecked Sendable {
        var fetched: [String?] = []
        let next: (Int) -> String?
        init(next: @escaping (Int) -> String?) { self.next = next }

        func pages(maxPages: Int = Pagination.maxPages) -> PageSequence<Int> {
            PageSequence(maxPages: maxPages) { token, number in
                self.fetched.append(token)
                return (number, self.next(number))
            }
        }
    }

    func testFollowsTokensToTheLastPage() async throws {
        let server = Server { $0 < 3 ? "t\($0)" : nil }
        var seen: [Int] = []
        for try await page in server.pages() { seen.append(page) }
        XCTAssertEqual(seen, [1, 2, 3])
        XCTAssertEqual(server.fetched, [nil, "t1", "t2"], "each page asks with the token of the one before")
    }

    func testAnEmptyTokenEndsTheListing() async throws {
        let server = Server { $0 == 1 ? "" : "never" }
        var count = 0
        for try await _ in server.pages() { count += 1 }
        XCTAssertEqual(count, 1)
    }

    func testATokenServedTwiceEndsTheListingInsteadOfLooping() async throws {
        let server = Server { _ in "same" }
        var count = 0
        for try await _ in server.pages() { count += 1 }
        XCTAssertEqual(count, 2, "the second page's token was followed already")
    }

    func testEveryListingStopsAtThePageCap() async throws {
        let endless = Server { "t\($0)" }
        var count = 0
        for try await _ in endless.pages() { count += 1 }
        XCTAssertEqual(count, Pagination.maxPages)
        let budget = Server { "t\($0)" }
        count = 0
        for try await _ in budget.pages(maxPages: 3) { count += 1 }
        XCTAssertEqual(count, 3, "a listing with a budget of its own stops there")
        count = 0
        for try await _ in Server(next: { "t\($0)" }).pages(maxPages: Pagination.maxPages * 2) { count += 1 }
        XCTAssertEqual(count, Pagination.maxPages, "no budget goes past the cap")
    }

    func testBreakingOffFetchesNoFurtherPage() async throws {
        let server = Server { "t\($0)" }
        for try await page in server.pages() where page == 2 { break }
        XCTAssertEqual(server.fetched.count, 2)
    }

    func testAFailedFetchEndsTheIterationWithItsError() async throws {
        struct Refused: Error {}
        let pages = PageSequence<Int> { token, number in
            if number == 2 { throw Refused() }
            return (number, "t\(number)")
        }
        var seen: [Int] = []
        do {
            for try await page in pages { seen.append(page) }
            XCTFail("the second page's error must end the iteration")
        } catch is Refused {}
        XCTAssertEqual(seen, [1])
    }
}
