import Foundation
import InjectSecretsKit

/// Rotation on Vault KV v2: `POST /v1/{mount}/data/{path}` with `options.cas` set to the version read as
/// current, so a concurrent writer makes this write fail instead of being overwritten. The new version
/// is the one KV v2 numbers next; the value must be a JSON object (a KV entry is one).
extension VaultProvider: SecretWriting {
    package func write(_ reference: SecretReference, value: SecretValue, expectedCurrent: String?) async throws -> String {
        do {
            return try await write(Self.cleanPath(reference.id), value: value, expectedCurrent: expectedCurrent)
        } catch {
            throw Self.providerFailure(error).during(.write, of: kvPath(reference))
        }
    }

    private func write(_ path: String, value: SecretValue, expectedCurrent: String?) async throws -> String {
        try checkPath(path)
        guard let data = (try? JSONSerialization.jsonObject(with: Data(value.text.utf8))) as? [String: Any] else {
            throw ProviderFailure(.configuration, "a Vault KV entry is a JSON object; rotate one field with --key")
        }
        var body: [String: Any] = ["data": data]
        if let expectedCurrent, let version = Int(expectedCurrent) { body["options"] = ["cas": version] }
        let token = try await session.token()
        let response = try await connection.send(
            "POST", "\(vaultPathEncoded(mount))/data/\(vaultPathEncoded(path))", token: token, json: body)
        switch response.status {
        case 200, 204:
            guard let answer = response.json?["data"] as? [String: Any], let version = answer["version"] as? Int else {
                throw ProviderFailure(.invalidResponse, "the answer has no data.version")
            }
            return String(version)
        case 400 where response.errorsText.contains("check-and-set"):
            throw ProviderFailure(
                .configuration,
                "the secret moved past version \(expectedCurrent ?? "?") while rotating (check-and-set refused); nothing was written, run rotate again")
        default:
            throw connection.failure(for: response)
        }
    }
}
