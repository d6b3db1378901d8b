/// The AWS error codes the tool reasons about, for every AWS service it calls: the one list of
/// throttling and transient codes. In the kit beside `StatusTable`, which maps them for every store;
/// the AWS module's retry rules read them from here.
package enum AWSErrorCodes {
    package static let signature: Set<String> = [
        "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature", "IncompleteSignatureException",
    ]
    package static let credentials: Set<String> = [
        "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException",
        "RequestExpired", "AuthFailure", "MissingAuthenticationToken", "MissingAuthenticationTokenException",
        "InvalidAccessKeyId", "InvalidToken",
    ]
    package static let accessDenied: Set<String> = ["AccessDenied", "AccessDeniedException", "NotAuthorized"]
    /// The standard retry mode's throttling codes.
    package static let throttling: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "EC2ThrottledException",
    ]
    /// Transient errors the standard mode retries besides throttling and 5xx; STS models
    /// `IDPCommunicationError` as retryable (botocore's sts/2011-06-15 service model).
    package static let transient: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "IDPCommunicationError",
    ]
    package static let notFound: Set<String> = ["ResourceNotFoundException", "ParameterNotFound"]
    package static let versionNotFound: Set<String> = ["ParameterVersionNotFound", "ParameterVersionLabelLimitExceeded"]

    /// Whether the standard retry mode retries this answer.
    package static func isRetryable(code: String?, status: Int?) -> Bool {
        guard let status else { return true }  // no HTTP answer: connection refused, reset, timed out
        if let code, throttling.contains(code) || transient.contains(code) { return true }
        return [429, 500, 502, 503, 504].contains(status)
    }
}
