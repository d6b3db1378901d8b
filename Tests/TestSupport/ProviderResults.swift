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
        await inspect([query])[query] ?? .failure(ProviderFailure(.invalidResponse, "no answer for \(query.reference)"))
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
