import Foundation
import InjectSecretsKit

/// Rotation on Secrets Manager: `PutSecretValue` with a fresh `ClientRequestToken` (a UUID, the
/// idempotency token the SDKs make up, so a retried request cannot make two versions). AWS moves
/// AWSCURRENT to the new version and AWSPREVIOUS to the old one; the new VersionId is returned.
extension AWSSecretsManagerProvider: SecretWriting {
    package func write(_ reference: SecretReference, value: SecretValue, expectedCurrent: String?) async throws -> String {
        let input = PutSecretValueInput(secretId: reference.id, clientRequestToken: UUID().uuidString.lowercased(), secretString: value.text)
        let output: PutSecretValueOutput
        do {
            output = try await client.call("PutSecretValue", input, as: PutSecretValueOutput.self)
        } catch {
            throw Self.failure(error).during(.write, of: reference.id)
        }
        guard let version = output.versionId, !version.isEmpty else {
            throw ProviderFailure(.invalidResponse, "AWS Secrets Manager PutSecretValue gave no VersionId", operation: .write, path: reference.id)
        }
        return version
    }
}
