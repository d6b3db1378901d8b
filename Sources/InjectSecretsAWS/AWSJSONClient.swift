import Foundation
import InjectSecretsKit

/// A failed AWS call: the AWS error code and message where the service gave one, the HTTP status, and
/// how many attempts were made. The message never holds a request or response body (a response may carry
/// secret values) nor a credential.
package struct AWSCallError: Error, Sendable, CustomStringConvertible {
    /// `AWS Secrets Manager`, `AWS Systems Manager Parameter Store`.
    package var service: String
    package var operation: String
    /// The AWS error code (`ResourceNotFoundException`, `SignatureDoesNotMatch`, ...), nil when the answer
    /// carried none (a transport failure, or an HTML, XML or empty body with no code).
    package var code: String?
    /// The service's own message, shortened to its first line.
    package var serviceMessage: String?
    /// The HTTP status; nil when no HTTP answer came back.
    package var status: Int?
    /// What the transport said when no HTTP answer came back.
    package var transportFailure: String?
    package var attempts: Int
    package var kind: ProviderFailure.Kind

    /// `AWS Secrets Manager GetSecretValue failed: ResourceNotFoundException: ... (after 3 attempts)`,
    /// with a hint for the signature, credential and permission failures.
    package var description: String {
        var text = "\(service) \(operation) failed: "
        if let code {
            text += code
            if let serviceMessage, !serviceMessage.isEmpty { text += ": \(serviceMessage)" }
        } else if let status {
            text += "HTTP \(status) with no AWS error code"
            if let serviceMessage, !serviceMessage.isEmpty { text += " (\(serviceMessage))" }
        } else {
            text += "no answer: \(transportFailure ?? "connection failed")"
        }
        if let hint { text += "; \(hint)" }
        if attempts > 1 { text += " (after \(attempts) attempts)" }
        return text
    }

    var hint: String? {
        guard let code else { return nil }
        if AWSErrorCodes.signature.contains(code) {
            return "the request signature was refused: check that the secret access key matches the access key id, and that the clock is right"
        }
        if AWSErrorCodes.credentials.contains(code) {
            return "the credentials were not accepted: check the access key id, and that a session token is current and belongs to these keys"
        }
        return nil
    }

    package func failure() -> ProviderFailure { ProviderFailure(kind, description) }
}

/// An awsJson1.1 client for one service in one region: `POST /` with `X-Amz-Target`, signed with SigV4
/// (a session token signed as `X-Amz-Security-Token`), AWS error parsing, and the standard retry mode
/// (throttling codes, 5xx, connection errors; full-jitter backoff bounded in attempts and time).
package struct AWSJSONClient: Sendable {
    /// Shown in messages: `AWS Secrets Manager`.
    package var serviceName: String
    /// The SigV4 signing name and scope service: `secretsmanager`, `ssm`.
    package var signingName: String
    /// The `X-Amz-Target` prefix: `secretsmanager`, `AmazonSSM`.
    package var targetPrefix: String
    package var endpoint: URL
    package var region: String
    package var credentials: any AWSCredentialSource
    package var http: HTTPClient
    package var retry: RetryPolicy

    package init(
        serviceName: String, signingName: String, targetPrefix: String, endpoint: URL, region: String,
        credentials: any AWSCredentialSource, http: HTTPClient = .shared, retry: RetryPolicy? = nil
    ) {
        self.serviceName = serviceName
        self.signingName = signingName
        self.targetPrefix = targetPrefix
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.http = http
        self.retry = retry ?? AWSService.standardRetry
    }

    /// A client for `service`, which must be an awsJson one (have a target prefix).
    package init(
        _ service: AWSService, endpoint: URL, region: String, credentials: any AWSCredentialSource, http: HTTPClient,
        retry: RetryPolicy
    ) {
        self.init(
            serviceName: service.name, signingName: service.signingName,
            targetPrefix: service.targetPrefix ?? service.signingName, endpoint: endpoint, region: region, credentials: credentials, http: http, retry: retry)
    }

    /// Calls `operation` with `input` encoded as JSON and decodes the answer as `Output`.
    package func call<Input: Encodable, Output: Decodable>(
        _ operation: String, _ input: Input, as output: Output.Type
    ) async throws -> Output {
        let body: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            body = try encoder.encode(input)
        } catch {
            throw AWSCallError(
                service: serviceName, operation: operation, code: nil, serviceMessage: "the request could not be encoded",
                status: nil, transportFailure: nil, attempts: 1, kind: .configuration)
        }
        let outcome: RetryPolicy.Outcome
        do {
            outcome = try await retry.send({ _ in try await send(operation, body) }, retrying: AWSErrorAnswer.retryable)
        } catch let failure as RetryFailure {
            throw finalError(failure.underlying, operation: operation, attempts: failure.attempts)
        } catch {
            throw finalError(error, operation: operation, attempts: 1)
        }
        let response = outcome.response
        let attempts = outcome.attempts
        guard (200..<300).contains(response.status) else {
            var error = parseError(response, operation: operation)
            error.attempts = attempts
            throw error
        }
        do {
            return try JSONDecoder().decode(Output.self, from: response.body.isEmpty ? Data("{}".utf8) : response.body)
        } catch {
            // The body may hold secret values: name only where the answer went wrong, never its content.
            throw AWSCallError(
                service: serviceName, operation: operation, code: nil,
                serviceMessage: "the answer is not the expected JSON\(Self.decodingPlace(error))",
                status: response.status, transportFailure: nil, attempts: attempts, kind: .invalidResponse)
        }
    }

    /// One signed attempt.
    func send(_ operation: String, _ body: Data) async throws -> HTTPResponse {
        let credentials = try await self.credentials.credentials()
        var request = HTTPRequest(
            method: "POST", url: endpoint,
            headers: [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", "\(targetPrefix).\(operation)"),
            ],
            body: body)
        SigV4Signer(credentials: credentials, region: region, service: signingName).sign(&request)
        return try await http.send(request)
    }

    func finalError(_ error: Error, operation: String, attempts: Int) -> Error {
        switch error {
        case let error as HTTPTransportError:
            return AWSCallError(
                service: serviceName, operation: operation, code: nil, serviceMessage: nil, status: nil,
                transportFailure: "\(endpoint.host ?? endpoint.absoluteString): \(error.underlying)",
                attempts: attempts, kind: .unreachable)
        case let error as EndpointPolicy.Violation:
            return ProviderFailure(.configuration, error.message)
        case let error as ProviderFailure:
            return error
        default:
            return AWSCallError(
                service: serviceName, operation: operation, code: nil, serviceMessage: nil, status: nil,
                transportFailure: String(describing: type(of: error)), attempts: attempts, kind: .unreachable)
        }
    }

    /// The AWS error of a non-2xx answer, as `AWSErrorAnswer` reads it; an answer without a code gives
    /// only the HTTP status.
    package func parseError(_ response: HTTPResponse, operation: String) -> AWSCallError {
        let answer = AWSErrorAnswer(response)
        let code = answer.code
        return AWSCallError(
            service: serviceName, operation: operation, code: code, serviceMessage: answer.message.map(RelayedText.line),
            status: response.status, transportFailure: nil, attempts: 1,
            kind: StatusTable.kind(status: response.status, codes: [code], asking: .endpoint))
    }

    /// ` at SecretValues[3].VersionId`, from a DecodingError's coding path (keys only, never values).
    static func decodingPlace(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "" }
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): context = c
        case .keyNotFound(let key, let c):
            return " at \(path(c.codingPath + [key])) (missing)"
        @unknown default: return ""
        }
        return context.codingPath.isEmpty ? "" : " at \(path(context.codingPath))"
    }

    static func path(_ keys: [CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text
    }
}
