import Foundation

/// The pages of one listing (AWS `NextToken`, the Tagging API's `PaginationToken`, Key Vault's
/// `nextLink`), fetched as they are iterated: the one pagination loop of every store, as Soto's
/// `PaginatorSequence` is for its services. `fetch` reads the page after `token` (nil for the first)
/// and says the token of the next one; the caller stops early with `break`, and a fetch that throws
/// ends the iteration with that error.
///
/// The listing ends when a page has no next token (or an empty one), when a token comes back that was
/// already followed (a server serving the same page again would loop), or after `maxPages`. A caller
/// that needs to know whether it saw everything compares the last page's token with nil.
package struct PageSequence<Page>: AsyncSequence {
    package typealias Element = Page

    var maxPages: Int
    /// Reads one page: the token to send and the page's number (1 for the first), for pacing.
    var fetch: (_ token: String?, _ number: Int) async throws -> (page: Page, next: String?)

    /// `maxPages`: fewer than `Pagination.maxPages` where a listing has a budget of its own.
    package init(maxPages: Int = Pagination.maxPages, fetch: @escaping (_ token: String?, _ number: Int) async throws -> (page: Page, next: String?)) {
        self.maxPages = Swift.min(maxPages, Pagination.maxPages)
        self.fetch = fetch
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: PageSequence
        var token: String?
        var fetched = 0
        var finished = false
        var followed: Set<String> = []

        package mutating func next() async throws -> Page? {
            guard !finished, fetched < sequence.maxPages else { return nil }
            fetched += 1
            let (page, next) = try await sequence.fetch(token, fetched)
            if let next, !next.isEmpty, followed.insert(next).inserted {
                token = next
            } else {
                finished = true
            }
            return page
        }
    }

    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }
}

package enum Pagination {
    /// The most pages any listing reads. Far past any real one (2,000 pages of 100 are 200,000 functions,
    /// secrets or versions): it only bounds what a broken or hostile server can make the tool do.
    package static let maxPages = 2_000
}
