import Foundation
import InjectSecretsKit

extension SecretProvider {
    /// Fetches one reference. A reference left unanswered breaks the provider contract, so it reads as a
    /// failure the test can assert on.
    package func fetchOne(_ reference: SecretReference) async -> Result<FetchedSecret, ProviderFailure> {
        await fetch([reference])[reference] ?? .failure(ProviderFailure(.invalidResponse, "no answer for \(reference)"))
    }

    /// Inspects one query, as `fetchOne`.
    package func inspectOne(_ query: VersionQuery) async -> Result<VersionStatus, ProviderFailure> {
        await inspect([query]).first ?? .failure(ProviderFailure(.invalidResponse, "no answer for \(query.reference)"))
    }

    /// `inspect`, keyed by query for tests that look answers up. An answer list shorter than the
    /// queries (a broken contract) leaves the last queries unanswered.
    package func inspectByQuery(_ queries: [VersionQuery]) async -> [VersionQuery: Result<VersionStatus, ProviderFailure>] {
        Dictionary(zip(queries, await inspect(queries)), uniquingKeysWith: { first, _ in first })
    }
}

/// The failure of a result that must have failed.
package func expectFailure<T>(
    _ result: Result<T, ProviderFailure>, file: StaticString = #filePath, line: UInt = #line
) throws -> ProviderFailure {
    switch result {
    case .failure(let failure): return failure
    case .success: throw TestSupportError("expected a failure, got a success (\(file):\(line))")
    }
}

extension Result {
    package var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
