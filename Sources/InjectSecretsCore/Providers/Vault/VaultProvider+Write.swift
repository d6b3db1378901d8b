import Foundation

/// Rotation on Vault KV v2: `POST /v1/{mount}/data/{path}` with `options.cas` set to the version read as
/// current, so a concurrent writer makes this write fail instead of being overwritten. The new version
/// is the one KV v2 numbers next; the value must be a JSON object (a KV entry is one).
extension VaultProvider: SecretWriting {
    public func write(_ reference: SecretReference, value: SecretValue, expectedCurrent: String?) async throws -> String {
        let path = Self.cleanPath(reference.id)
        let segments = path.split(separator: "/")
        if path.isEmpty || segments.contains(".") || segments.contains("..") {
            throw ProviderFailure(.configuration, "vault provider '\(name)': secret \(reference) has an id that is not a KV path")
        }
        guard let data = (try? JSONSerialization.jsonObject(with: Data(value.text.utf8))) as? [String: Any] else {
            throw ProviderFailure(.configuration, "vault provider '\(name)': secret \(reference): a Vault KV entry is a JSON object; rotate one field with --key")
        }
        var body: [String: Any] = ["data": data]
        if let expectedCurrent, let version = Int(expectedCurrent) { body["options"] = ["cas": version] }
        let token: VaultToken
        do {
            token = try await session.token()
        } catch let failure as ProviderFailure {
            throw ProviderFailure(failure.kind, "\(failure.message) (needed for secret \(reference))")
        }
        let what = "writing \(mount)/data/\(path) for secret \(reference)"
        let response = try await connection.send(
            "POST", "\(vaultPathEncoded(mount))/data/\(vaultPathEncoded(path))", token: token, json: body, what: what)
        switch response.status {
        case 200, 204:
            guard let answer = response.json?["data"] as? [String: Any], let version = answer["version"] as? Int else {
                throw ProviderFailure(.invalidResponse, "vault provider '\(name)': \(what): the answer has no data.version")
            }
            return String(version)
        case 400 where response.errorsText.contains("check-and-set"):
            throw ProviderFailure(
                .configuration,
                "vault provider '\(name)': \(what): the secret moved past version \(expectedCurrent ?? "?") while rotating (check-and-set refused); nothing was written, run rotate again")
        default:
            throw connection.failure(for: response, what: what)
        }
    }
}
