import InjectSecretsKit

/// A status or failure as one comparable line (kind and message for a failure).
package func statusText(_ result: Result<VersionStatus, ProviderFailure>?) -> String {
    switch result {
    case .success(let status)?: return String(reflecting: status)
    case .failure(let failure)?: return "\(failure.kind): \(failure.message)"
    case nil: return "no answer"
    }
}

/// Every answer of an `inspect` as text by query name, for canary scans.
package func statusTexts(_ statuses: [VersionQuery: Result<VersionStatus, ProviderFailure>]) -> [String: String] {
    var texts: [String: String] = [:]
    for (query, result) in statuses { texts[query.reference.name] = statusText(result) }
    return texts
}

extension SecretProvider {
    /// Asks about each query alone and says, per query, where the answer differs from `statuses` (one
    /// `inspect` of them all): empty when a store's batching plan changes no answer.
    package func differencesAskedAlone(
        _ queries: [VersionQuery], from statuses: [VersionQuery: Result<VersionStatus, ProviderFailure>]
    ) async -> [String] {
        var differences: [String] = []
        for query in queries {
            let alone = statusText(await inspect([query]).first)
            let together = statusText(statuses[query])
            if alone != together { differences.append("\(query.reference.name): alone \(alone), together \(together)") }
        }
        return differences
    }
}
