import Foundation
import InjectSecretsKit

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

    /// The STS endpoint for `region`: a configured one (`AWSService.sts`), else the regional host. Without
    /// a region, the global `https://sts.amazonaws.com` (signed for us-east-1). The configured one is
    /// checked when it is called, so that a chain that never needs STS never fails over it.
    static func make(environment: AWSEnvironment, region: String?, client: HTTPClient, signer: (any AWSRequestSigning)?) -> STSClient {
        let signingRegion = region ?? "us-east-1"
        if let configured = AWSService.sts.configuredEndpoint(in: environment) {
            return STSClient(endpoint: configured, signingRegion: signingRegion, client: client, signer: signer)
        }
        guard let region else {
            return STSClient(endpoint: "https://sts.amazonaws.com", signingRegion: signingRegion, client: client, signer: signer)
        }
        var regional = AWSService.sts.regionalEndpoint(region: region, fips: environment.usesFIPSEndpoint).absoluteString
        while regional.hasSuffix("/") { regional.removeLast() }
        return STSClient(endpoint: regional, signingRegion: region, client: client, signer: signer)
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
        let body = formEncoded(parameters)
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
                        signer.signed(request, credentials: credentials, region: signingRegion, service: AWSService.sts.signingName, date: Date()))
                }
                return try await client.send(request)
            }, retrying: AWSErrorAnswer.retryable)
        } catch let failure as RetryFailure {
            throw failure.providerFailure(
                reaching: "STS \(action) at \(url.host ?? endpoint)", lead: "\(source): ", hiding: secrets)
        }
        return try parse(outcome, where_: where_, secrets: secrets)
    }

    private func parse(_ outcome: RetryPolicy.Outcome, where_: String, secrets: [String?]) throws -> AWSCredentials {
        let response = outcome.response
        guard (200..<300).contains(response.status) else {
            let answer = AWSErrorAnswer(response)
            let code = answer.code
            let message = answer.message.map { ": " + RelayedText.line(RunRedactor.scrub($0, hiding: secrets)) } ?? ""
            throw ProviderFailure(
                StatusTable.kind(status: response.status, codes: [code], asking: .credential),
                "\(where_) was refused: \(code ?? "HTTP \(response.status)")\(message)\(outcome.attemptsNote)")
        }
        let fields = AWSXMLFields.parse(response.body)
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
