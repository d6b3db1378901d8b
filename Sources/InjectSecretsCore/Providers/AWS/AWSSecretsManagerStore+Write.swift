import Foundation

/// Rotation on Secrets Manager: `PutSecretValue` with a fresh `ClientRequestToken` (a UUID, the
/// idempotency token the SDKs make up, so a retried request cannot make two versions). AWS moves
/// AWSCURRENT to the new version and AWSPREVIOUS to the old one; the new VersionId is returned.
extension AWSSecretsManagerProvider: SecretWriting {
    public func write(_ reference: SecretReference, value: SecretValue, expectedCurrent: String?) async throws -> String {
        let input = PutSecretValueInput(secretId: reference.id, clientRequestToken: UUID().uuidString.lowercased(), secretString: value.text)
        let output: PutSecretValueOutput
        do {
            output = try await client.call("PutSecretValue", input, as: PutSecretValueOutput.self)
        } catch {
            let failure = Self.failure(error)
            throw ProviderFailure(failure.kind, "writing secret \(reference): \(failure.message)", at: failure.location)
        }
        guard let version = output.versionId, !version.isEmpty else {
            throw ProviderFailure(.invalidResponse, "AWS Secrets Manager: PutSecretValue for secret \(reference) gave no VersionId")
        }
        return version
    }
}
