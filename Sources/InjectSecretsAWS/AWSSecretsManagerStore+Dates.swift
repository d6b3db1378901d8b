import Foundation
import InjectSecretsKit

extension AWSSecretsManagerProvider {
    /// `version` as ListSecretVersionIds lists it (labels and `CreatedDate`, never a value), deprecated
    /// versions included; nil when the listing does not hold it.
    func listedVersion(_ version: String, secretId: String) async -> Result<ListVersionsOutput.Version?, ProviderFailure> {
        let pages = PageSequence { token, _ -> (page: ListVersionsOutput, next: String?) in
            let output = try await client.call(
                "ListSecretVersionIds",
                ListVersionsInput(secretId: secretId, includeDeprecated: true, maxResults: 100, nextToken: token),
                as: ListVersionsOutput.self)
            return (output, output.nextToken)
        }
        do {
            for try await output in pages {
                if let found = output.versions?.first(where: { $0.versionId == version }) { return .success(found) }
            }
        } catch {
            return .failure(Self.failure(error))
        }
        return .success(nil)
    }

    /// When `version` was created, from its `CreatedDate`; nil when the store gives none.
    func versionCreated(_ version: String, secretId: String) async -> Result<Date?, ProviderFailure> {
        await listedVersion(version, secretId: secretId).map { $0?.createdDate?.value.map { Date(timeIntervalSince1970: $0) } }
    }
}
