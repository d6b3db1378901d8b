import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Signs an AWS request with SigV4. The credential code needs it only for STS AssumeRole; the signer
/// itself lives with the AWS providers (`SigV4Signer`), so this seam keeps the two apart.
protocol AWSRequestSigning: Sendable {
    func signed(
        _ request: HTTPRequest, credentials: AWSCredentials, region: String, service: String, date: Date
    ) -> HTTPRequest
}

/// The two STS calls the credential chain makes, in the query protocol (form body in, XML out):
/// `AssumeRoleWithWebIdentity` (unsigned: the web identity token is the proof) and `AssumeRole`
/// (signed with the source credentials).
struct STSClient: Sendable {
    var endpoint: String
    /// The region that signs AssumeRole (`us-east-1` for the global endpoint).
    var signingRegion: String
    var client: HTTPClient
    var signer: (any AWSRequestSigning)?
    var retry = RetryPolicy(maxAttempts: 3, baseDelay: 0.2, maxDelay: 5, timeLimit: 60)

    /// The STS endpoint for `region`: a configured one (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the
    /// profile's `[services]` `sts` key or `endpoint_url`), else the regional host. Without a region,
    /// the global `https://sts.amazonaws.com` (signed for us-east-1).
    static func make(environment: AWSEnvironment, region: String?, client: HTTPClient, signer: (any AWSRequestSigning)?) -> STSClient {
        let signingRegion = region ?? "us-east-1"
        if let configured = environment.endpoint(serviceID: "STS", configKey: "sts") {
            return STSClient(endpoint: configured, signingRegion: signingRegion, client: client, signer: signer)
        }
        guard let region else {
            return STSClient(endpoint: "https://sts.amazonaws.com", signingRegion: signingRegion, client: client, signer: signer)
        }
        let fips = environment.variables["AWS_USE_FIPS_ENDPOINT"]?.lowercased() == "true"
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return STSClient(
            endpoint: "https://sts\(fips ? "-fips" : "").\(region).\(suffix)", signingRegion: region, client: client, signer: signer)
    }

    func assumeRoleWithWebIdentity(
        roleArn: String, sessionName: String, token: String, durationSeconds: Int? = nil, source: String
    ) async throws -> AWSCredentials {
        var parameters = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"),
            ("RoleArn", roleArn), ("RoleSessionName", sessionName), ("WebIdentityToken", token),
        ]
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        return try await call(
            "AssumeRoleWithWebIdentity", parameters: parameters, signWith: nil, source: source, secrets: [token])
    }

    func assumeRole(
        roleArn: String, sessionName: String, externalId: String?, durationSeconds: Int?,
        credentials: AWSCredentials, source: String
    ) async throws -> AWSCredentials {
        var parameters = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleArn), ("RoleSessionName", sessionName),
        ]
        if let externalId { parameters.append(("ExternalId", externalId)) }
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        return try await call(
            "AssumeRole", parameters: parameters, signWith: credentials, source: source,
            secrets: [credentials.secretAccessKey, credentials.sessionToken])
    }

    /// The standard mode's retries, as the AWS JSON client makes them (the SDKs' standard retry mode:
    /// docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html, botocore/retries/standard.py).
    static let retryable = RetryPolicy.Retryable { response in
        AWSErrorCodes.isRetryable(code: STSXMLFields.parse(response.body)["Code"], status: response.status)
    }

    private func call(
        _ action: String, parameters: [(String, String)], signWith credentials: AWSCredentials?, source: String,
        secrets: [String?]
    ) async throws -> AWSCredentials {
        let url: URL
        do {
            url = try EndpointPolicy.checked(endpoint)
        } catch let violation as EndpointPolicy.Violation {
            throw ProviderFailure(.configuration, "\(source): the STS endpoint is not usable: \(violation.message)")
        }
        let body = Data(formEncoded(parameters).utf8)
        let where_ = "\(source): STS \(action) at \(url.host ?? endpoint)"
        let request = HTTPRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: body)
        let outcome: RetryPolicy.Outcome
        do {
            outcome = try await retry.send({ _ in
                if let credentials {
                    guard let signer else {
                        throw ProviderFailure(.configuration, "\(where_): no SigV4 signer is available in this build")
                    }
                    // Signed again for every attempt: the signature holds the time.
                    return try await client.send(
                        signer.signed(request, credentials: credentials, region: signingRegion, service: "sts", date: Date()))
                }
                return try await client.send(request)
            }, retrying: Self.retryable)
        } catch let failure as RetryFailure {
            switch failure.underlying {
            case let violation as EndpointPolicy.Violation:
                throw ProviderFailure(.configuration, "\(where_): \(violation.message)")
            case let provider as ProviderFailure:
                throw provider
            default:
                throw ProviderFailure(
                    StatusTable.noAnswer,
                    "\(where_) failed: \(redacting(String(describing: failure.underlying), secrets))\(failure.attemptsNote)")
            }
        }
        return try parse(outcome, where_: where_, secrets: secrets)
    }

    private func parse(_ outcome: RetryPolicy.Outcome, where_: String, secrets: [String?]) throws -> AWSCredentials {
        let response = outcome.response
        let fields = STSXMLFields.parse(response.body)
        guard (200..<300).contains(response.status) else {
            let code = fields["Code"]
            let message = fields["Message"].map { ": " + RelayedText.line(redacting($0, secrets)) } ?? ""
            throw ProviderFailure(
                StatusTable.kind(status: response.status, codes: [code], asking: .credential),
                "\(where_) was refused: \(code ?? "HTTP \(response.status)")\(message)\(outcome.attemptsNote)")
        }
        guard let accessKeyId = fields["AccessKeyId"], let secretAccessKey = fields["SecretAccessKey"],
            let sessionToken = fields["SessionToken"]
        else {
            throw ProviderFailure(.invalidResponse, "\(where_): the reply has no Credentials (AccessKeyId, SecretAccessKey, SessionToken)")
        }
        var expiration: Date? = nil
        if let text = fields["Expiration"] {
            guard let date = parseAWSTimestamp(text) else {
                throw ProviderFailure(.invalidResponse, "\(where_): the reply's Expiration '\(text)' is not an ISO-8601 time")
            }
            expiration = date
        }
        return AWSCredentials(
            accessKeyId: accessKeyId, secretAccessKey: secretAccessKey, sessionToken: sessionToken, expiration: expiration)
    }

}

/// `application/x-www-form-urlencoded` as the AWS query protocol writes it: every byte except the
/// unreserved `A-Z a-z 0-9 - _ . ~` percent-encoded.
func formEncoded(_ parameters: [(String, String)]) -> String {
    let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")
    func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
    return parameters.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
}

/// The text of the first element with each name in an STS reply: `AccessKeyId`, `SecretAccessKey`,
/// `SessionToken`, `Expiration` of a result; `Code`, `Message` of an `ErrorResponse`.
final class STSXMLFields: NSObject, XMLParserDelegate {
    private var fields: [String: String] = [:]
    private var text = ""

    static func parse(_ data: Data) -> [String: String] {
        let collector = STSXMLFields()
        let parser = XMLParser(data: data)
        parser.shouldResolveExternalEntities = false
        parser.delegate = collector
        _ = parser.parse()
        return collector.fields
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
        attributes attributeDict: [String: String] = [:]
    ) {
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        if fields[elementName] == nil {
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !value.isEmpty { fields[elementName] = value }
        }
        text = ""
    }
}
