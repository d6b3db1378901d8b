import Foundation
import InjectSecretsKit

/// Store-side rotation on Secrets Manager: `RotateSecret` asks the secret's rotation function to make
/// and store a new value (AWSPENDING), test it and move AWSCURRENT to it. The function runs in AWS; this
/// tool only starts it and reads metadata.
extension AWSSecretsManagerProvider: SelfRotating {
    struct RotateSecretInput: Encodable {
        var secretId: String
        var clientRequestToken: String
        enum CodingKeys: String, CodingKey { case secretId = "SecretId", clientRequestToken = "ClientRequestToken" }
    }

    struct RotateSecretOutput: Decodable {
        var versionId: String?
        enum CodingKeys: String, CodingKey { case versionId = "VersionId" }
    }

    func described(_ reference: SecretReference) async throws -> SecretMetadata {
        switch await describeSecret(reference.id) {
        case .success(let metadata): return metadata
        case .failure(let failure):
            throw ProviderFailure(failure.kind, "secret \(reference) from provider '\(name)': \(failure.message)", at: failure.location)
        }
    }

    package func rotatesItself(_ reference: SecretReference) async throws -> Bool {
        try await described(reference).rotationEnabled == true
    }

    package func currentVersion(_ reference: SecretReference) async throws -> String? {
        try await described(reference).versionsToStages?.first { $0.value.contains("AWSCURRENT") }?.key
    }

    package func startRotation(_ reference: SecretReference) async throws -> String {
        // A fresh idempotency token, as for PutSecretValue: a retried call cannot start two rotations.
        let input = RotateSecretInput(secretId: reference.id, clientRequestToken: UUID().uuidString.lowercased())
        let output: RotateSecretOutput
        do {
            output = try await client.call("RotateSecret", input, as: RotateSecretOutput.self)
        } catch {
            let failure = Self.failure(error)
            throw ProviderFailure(failure.kind, "rotating secret \(reference) with RotateSecret: \(failure.message)", at: failure.location)
        }
        return output.versionId.flatMap { $0.isEmpty ? nil : $0 } ?? input.clientRequestToken
    }
}
