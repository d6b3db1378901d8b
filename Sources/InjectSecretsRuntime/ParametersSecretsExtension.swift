import Foundation
import InjectSecretsReference

/// The wire side of the AWS Parameters and Secrets Lambda Extension, as AWS documents it:
/// - "Use AWS Secrets Manager secrets in AWS Lambda functions"
///   (docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html):
///   `GET /secretsmanager/get?secretId=ID[&versionId=ID|&versionStage=LABEL]`, answered with the
///   GetSecretValue response (`SecretString` or `SecretBinary`, `VersionId`, ...).
/// - "Using Parameter Store parameters in AWS Lambda functions"
///   (docs.aws.amazon.com/systems-manager/latest/userguide/ps-integration-lambda-extensions.html):
///   `GET /systemsmanager/parameters/get?name=NAME[&version=N|&label=LABEL][&withDecryption=true]`,
///   answered with the GetParameter response (`Parameter.Value`, `Parameter.Version`).
/// - Both: the port is 2773 unless PARAMETERS_SECRETS_EXTENSION_HTTP_PORT says otherwise, and every
///   request carries `X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN`.
/// The documents do not spell out error answers, so `failure` goes by the status and, when the body
/// carries one, the store's AWS error code (`__type`), and holds for a relayed store error as for text.
struct ParametersSecretsExtension: Sendable {
    var port: Int
    var token: String
    var timeout: TimeInterval
    var maximumResponseBytes: Int

    /// The raw value the reference points at: the SecretString, or the parameter's Value.
    func fetch(_ reference: RuntimeReference) async throws -> String {
        let (status, body) = try await get(url(for: reference))
        guard status == 200 else { throw failure(status: status, body: body, reference: reference) }
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw SecretsRuntimeError.extensionError(status: status, code: "answer is not JSON", arn: reference.arn)
        }
        switch reference.store {
        case .secretsManager:
            if let value = object["SecretString"] as? String { return value }
            if object["SecretBinary"] != nil { throw SecretsRuntimeError.binarySecret(arn: reference.arn) }
        case .ssm:
            if let parameter = object["Parameter"] as? [String: Any], let value = parameter["Value"] as? String {
                return value
            }
        }
        throw SecretsRuntimeError.extensionError(status: status, code: "answer has no value field", arn: reference.arn)
    }

    func url(for reference: RuntimeReference) -> URL {
        // The two documents name the same three things differently.
        let (path, nameItem, versionItem, labelItem) = reference.store == .secretsManager
            ? ("/secretsmanager/get", "secretId", "versionId", "versionStage")
            : ("/systemsmanager/parameters/get", "name", "version", "label")
        var items = [(nameItem, reference.arn)]
        switch reference.selector {
        case .version(let version): items.append((versionItem, version))
        case .stage(let label): items.append((labelItem, label))
        case .current: break
        }
        if reference.store == .ssm { items.append(("withDecryption", "true")) }
        // The documents ask for the name URL-encoded: `/` and `:` too, and a `+` would read as a space.
        let query = items.map { "\($0.0)=\(Self.encodeQueryValue($0.1))" }.joined(separator: "&")
        return URL(string: "http://localhost:\(port)\(path)?\(query)")!
    }

    static func encodeQueryValue(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// Maps the extension's error answer to what the user must fix: access, decryption, missing versions
    /// and the token are told apart here, once. Only the error code is kept, never the body.
    func failure(status: Int, body: Data, reference: RuntimeReference) -> SecretsRuntimeError {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        var code = ""
        if let object = try? JSONSerialization.jsonObject(with: body.prefix(4096)) as? [String: Any] {
            code = ((object["__type"] ?? object["code"] ?? object["Code"]) as? String ?? "")
            code = String(code.split(separator: "#").last ?? "")
        }
        let all = (code + " " + text).lowercased()
        let version: String
        switch reference.selector {
        case .version(let id): version = id
        case .stage(let label): version = "stage " + label
        case .current: version = "latest"
        }
        if all.contains("kms") || all.contains("decryptionfailure") {
            return .decryptDenied(arn: reference.arn)
        }
        if all.contains("accessdenied") || status == 403 {
            let action = reference.store == .secretsManager ? "secretsmanager:GetSecretValue" : "ssm:GetParameter"
            return .accessDenied(action: action, arn: reference.arn)
        }
        if status == 401 {
            return .tokenRefused(status: status)
        }
        if all.contains("notfound") || status == 404 {
            return .versionNotFound(arn: reference.arn, version: version)
        }
        return .extensionError(status: status, code: String(code.prefix(100)), arn: reference.arn)
    }

    private func get(_ url: URL) async throws -> (Int, Data) {
        var target = url.path
        if let query = url.query { target += "?" + query }
        let exchange = LoopbackExchange(
            port: port, target: target, headers: [("X-Aws-Parameters-Secrets-Token", token)], timeout: timeout,
            maximumBodyBytes: maximumResponseBytes)
        // Blocking socket calls run off the cooperative pool.
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try exchange.run() }) }
        }
    }
}
