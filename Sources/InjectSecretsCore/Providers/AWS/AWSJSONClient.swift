import Foundation

/// A failed AWS call: the AWS error code and message where the service gave one, the HTTP status, and
/// how many attempts were made. The message never holds a request or response body (a response may carry
/// secret values) nor a credential.
public struct AWSCallError: Error, Sendable, CustomStringConvertible {
    /// `AWS Secrets Manager`, `AWS Systems Manager Parameter Store`.
    public var service: String
    public var operation: String
    /// The AWS error code (`ResourceNotFoundException`, `SignatureDoesNotMatch`, ...), nil when the answer
    /// carried none (a transport failure, or an HTML, XML or empty body with no code).
    public var code: String?
    /// The service's own message, shortened to its first line.
    public var serviceMessage: String?
    /// The HTTP status; nil when no HTTP answer came back.
    public var status: Int?
    /// What the transport said when no HTTP answer came back.
    public var transportFailure: String?
    public var attempts: Int
    public var kind: ProviderFailure.Kind

    /// `AWS Secrets Manager GetSecretValue failed: ResourceNotFoundException: ... (after 3 attempts)`,
    /// with a hint for the signature, credential and permission failures.
    public var description: String {
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

    public func failure() -> ProviderFailure { ProviderFailure(kind, description) }
}

/// The AWS error codes this client reasons about.
enum AWSErrorCodes {
    static let signature: Set<String> = [
        "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature", "IncompleteSignatureException",
    ]
    static let credentials: Set<String> = [
        "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException",
        "RequestExpired", "AuthFailure", "MissingAuthenticationToken", "MissingAuthenticationTokenException",
        "InvalidAccessKeyId", "InvalidToken",
    ]
    static let accessDenied: Set<String> = ["AccessDenied", "AccessDeniedException", "NotAuthorized"]
    /// The standard retry mode's throttling codes.
    static let throttling: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "EC2ThrottledException",
    ]
    /// Transient errors the standard mode retries besides throttling and 5xx; STS models
    /// `IDPCommunicationError` as retryable (botocore's sts/2011-06-15 service model).
    static let transient: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "IDPCommunicationError",
    ]
    static let notFound: Set<String> = ["ResourceNotFoundException", "ParameterNotFound"]
    static let versionNotFound: Set<String> = ["ParameterVersionNotFound", "ParameterVersionLabelLimitExceeded"]

    /// Whether the standard retry mode retries this answer.
    static func isRetryable(code: String?, status: Int?) -> Bool {
        guard let status else { return true }  // no HTTP answer: connection refused, reset, timed out
        if let code, throttling.contains(code) || transient.contains(code) { return true }
        return [429, 500, 502, 503, 504].contains(status)
    }
}

/// An awsJson1.1 client for one service in one region: `POST /` with `X-Amz-Target`, signed with SigV4
/// (a session token signed as `X-Amz-Security-Token`), AWS error parsing, and the standard retry mode
/// (throttling codes, 5xx, connection errors; full-jitter backoff bounded in attempts and time).
public struct AWSJSONClient: Sendable {
    /// Shown in messages: `AWS Secrets Manager`.
    public var serviceName: String
    /// The SigV4 signing name and scope service: `secretsmanager`, `ssm`.
    public var signingName: String
    /// The `X-Amz-Target` prefix: `secretsmanager`, `AmazonSSM`.
    public var targetPrefix: String
    public var endpoint: URL
    public var region: String
    public var credentials: any AWSCredentialSource
    public var http: HTTPClient
    public var retry: RetryPolicy

    public init(
        serviceName: String, signingName: String, targetPrefix: String, endpoint: URL, region: String,
        credentials: any AWSCredentialSource, http: HTTPClient = .shared, retry: RetryPolicy = AWSJSONClient.defaultRetry
    ) {
        self.serviceName = serviceName
        self.signingName = signingName
        self.targetPrefix = targetPrefix
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.http = http
        self.retry = retry
    }

    /// Five attempts, 100 ms base, 20 s cap, two minutes in all. AWS's standard mode makes three, but a
    /// render reads many secrets in one burst, and a run that fails after a throttle costs more than a
    /// short wait.
    public static let defaultRetry = RetryPolicy(maxAttempts: 5, baseDelay: 0.1, maxDelay: 20, timeLimit: 120)

    /// The retry policy with `AWS_MAX_ATTEMPTS` applied (1-10), as the SDKs read it.
    public static func retryPolicy(environment: [String: String]) -> RetryPolicy {
        var policy = defaultRetry
        if let text = environment["AWS_MAX_ATTEMPTS"], let attempts = Int(text.trimmingCharacters(in: .whitespaces)),
            attempts >= 1
        {
            policy.maxAttempts = min(attempts, 10)
        }
        return policy
    }

    /// Calls `operation` with `input` encoded as JSON and decodes the answer as `Output`.
    public func call<Input: Encodable, Output: Decodable>(
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
            outcome = try await retry.send({ _ in try await send(operation, body) }, retrying: Self.retryable)
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

    /// The standard retry mode's answers (docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
    /// and botocore/retries/standard.py): by code first, since
    /// AWS throttles with 400.
    static let retryable = RetryPolicy.Retryable { response in
        AWSErrorCodes.isRetryable(code: errorParts(response).code, status: response.status)
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

    /// The AWS error of a non-2xx answer: the code from `X-Amzn-ErrorType`, else the body's `__type` (or
    /// `code`), cut after the first `:` and up to the last `#`; the message from `message`/`Message`. A
    /// query-style XML body gives its `<Code>`/`<Message>`; HTML, other XML and empty bodies give only the
    /// HTTP status.
    public func parseError(_ response: HTTPResponse, operation: String) -> AWSCallError {
        let (code, message) = Self.errorParts(response)
        return AWSCallError(
            service: serviceName, operation: operation, code: code, serviceMessage: message.map(RelayedText.line),
            status: response.status, transportFailure: nil, attempts: 1,
            kind: StatusTable.kind(status: response.status, codes: [code], asking: .endpoint))
    }

    /// The code and message of a non-2xx answer, as `parseError` describes.
    static func errorParts(_ response: HTTPResponse) -> (code: String?, message: String?) {
        var code: String?
        var message: String?
        if let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] {
            code = (object["__type"] as? String) ?? (object["code"] as? String) ?? (object["Code"] as? String)
            message = (object["message"] as? String) ?? (object["Message"] as? String)
        } else if let text = String(data: response.body, encoding: .utf8), text.contains("<Code>") {
            code = Self.xmlElement("Code", in: text)
            message = Self.xmlElement("Message", in: text)
        }
        if let header = response.header("X-Amzn-ErrorType"), !header.isEmpty {
            code = header
        }
        code = code.map(Self.normalizeCode).flatMap { $0.isEmpty ? nil : $0 }
        return (code, message)
    }

    /// `aws.protocoltests#FooError:http://...` → `FooError`.
    static func normalizeCode(_ raw: String) -> String {
        var code = Substring(raw)
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        return code.trimmingCharacters(in: .whitespaces)
    }

    static func xmlElement(_ name: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(name)>"),
            let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex)
        else { return nil }
        let raw = String(text[open.upperBound..<close.lowerBound])
        return raw.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
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
