import Foundation
import InjectSecretsReference

/// Why a variable could not be resolved, saying what to fix. No case carries a value: only the
/// variable's name, the ARN, the version, the key and the extension's error code.
public enum SecretsRuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The variable is not set in the function's environment.
    case variableNotSet(String)
    /// The variable starts like a reference but does not parse as one.
    case badReference(variable: String, RuntimeReferenceError)
    /// Nothing answers on the extension's port.
    case extensionNotReachable(port: Int, detail: String)
    /// The extension refused the `X-Aws-Parameters-Secrets-Token` header (status 0: the token could not
    /// be sent at all).
    case tokenRefused(status: Int)
    /// `AWS_SESSION_TOKEN` is not set, so there is no token to send.
    case noSessionToken
    /// The function's role may not read the secret (or decrypt it).
    case accessDenied(action: String, arn: String)
    /// The role may read the secret but not decrypt it with its KMS key.
    case decryptDenied(arn: String)
    /// The secret, the parameter or the pinned version does not exist (any more).
    case versionNotFound(arn: String, version: String)
    /// The key names a field, but the secret is not a JSON object.
    case notJSON(arn: String, key: String)
    /// The secret is a JSON object without that field.
    case noSuchKey(arn: String, key: String)
    /// The secret is binary (SecretBinary), which an environment variable cannot hold as text.
    case binarySecret(arn: String)
    /// The extension's answer is larger than the runtime accepts.
    case responseTooLarge(limit: Int)
    /// Any other answer from the extension: its status and the error code it relayed.
    case extensionError(status: Int, code: String, arn: String)

    public var description: String {
        switch self {
        case .variableNotSet(let name): return "environment variable \(name) is not set"
        case .badReference(let name, let error): return "\(name): \(error)"
        case .extensionNotReachable(let port, let detail):
            return "the AWS Parameters and Secrets Lambda Extension does not answer on localhost:\(port) (\(detail)): "
                + "add the layer arn:aws:lambda:REGION:ACCOUNT:layer:AWS-Parameters-and-Secrets-Lambda-Extension:VERSION "
                + "(for x86_64; -Arm64 for arm64; the account per region is listed in AWS's Secrets Manager guide, "
                + "\"Use AWS Secrets Manager secrets in AWS Lambda functions\"), or set "
                + "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT to the port it listens on"
        case .tokenRefused(0):
            return "AWS_SESSION_TOKEN holds a line break, so it cannot be sent as X-Aws-Parameters-Secrets-Token"
        case .tokenRefused(let status):
            return "the extension refused the X-Aws-Parameters-Secrets-Token header (HTTP \(status)): "
                + "it must be the function's own AWS_SESSION_TOKEN"
        case .noSessionToken:
            return "AWS_SESSION_TOKEN is not set: the extension requires it as X-Aws-Parameters-Secrets-Token "
                + "(Lambda sets it for the function's role)"
        case .accessDenied(let action, let arn):
            return "access denied: the function's execution role needs \(action) on \(arn)"
        case .decryptDenied(let arn):
            return "access denied: the function's execution role needs kms:Decrypt on the KMS key that encrypts \(arn)"
        case .versionNotFound(let arn, let version):
            return "\(arn): version \(version) not found (deleted, or never existed): render again to pin an existing version"
        case .notJSON(let arn, let key):
            return "\(arn): the secret is not a JSON object, so it has no field `\(key)`"
        case .noSuchKey(let arn, let key): return "\(arn): the secret's JSON object has no field `\(key)`"
        case .binarySecret(let arn): return "\(arn): the secret is binary (SecretBinary); only SecretString is supported"
        case .responseTooLarge(let limit): return "the extension's answer is larger than \(limit) bytes"
        case .extensionError(let status, let code, let arn):
            return "\(arn): the extension answered HTTP \(status)" + (code.isEmpty ? "" : " (\(code))")
        }
    }
}
