import Foundation
import InjectSecretsKit

/// EC2 instance role credentials from IMDS, as botocore's `InstanceMetadataFetcher` gets them:
/// 1. `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds: 21600` → a session token (IMDSv2);
///    403, 404 or 405, a timeout, or no answer → fall back to IMDSv1 (no token), unless IMDSv1 is disabled;
///    400 → IMDS gives nothing;
/// 2. `GET /latest/meta-data/iam/security-credentials/` → the role name;
/// 3. `GET /latest/meta-data/iam/security-credentials/<role>` → `{Code, AccessKeyId, SecretAccessKey, Token, Expiration}`.
///
/// Settings (environment first, then the profile): `AWS_EC2_METADATA_DISABLED=true` turns it off;
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` / `ec2_metadata_service_endpoint` replaces the host (tests use a
/// loopback server; any other plain-HTTP host is refused); `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`
/// uses `http://[fd00:ec2::254]`; `AWS_EC2_METADATA_V1_DISABLED`; `AWS_METADATA_SERVICE_TIMEOUT` (1 s) and
/// `AWS_METADATA_SERVICE_NUM_ATTEMPTS` (1).
struct InstanceMetadataCredentials: Sendable {
    var baseURL: String
    var timeout: TimeInterval
    var attempts: Int
    var v1Disabled: Bool
    var client: HTTPClient

    /// Nil when `AWS_EC2_METADATA_DISABLED` is true.
    static func configured(variables: [String: String], profile: AWSProfile, client: HTTPClient) -> InstanceMetadataCredentials? {
        func setting(_ variable: String, _ key: String) -> String? {
            if let value = variables[variable], !value.isEmpty { return value }
            return profile[key]
        }
        if variables["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        var base = "http://169.254.169.254"
        if let endpoint = setting("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint") {
            base = endpoint
        } else if setting("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ec2_metadata_service_endpoint_mode")?.lowercased() == "ipv6" {
            base = "http://[fd00:ec2::254]"
        }
        let timeout = setting("AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout").flatMap(Double.init) ?? 1
        let attempts = setting("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "metadata_service_num_attempts").flatMap(Int.init) ?? 1
        let v1Disabled = setting("AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled")?.lowercased() == "true"
        return InstanceMetadataCredentials(
            baseURL: base, timeout: max(0.1, timeout), attempts: max(1, attempts), v1Disabled: v1Disabled, client: client)
    }

    var source: String { "instance metadata (IMDS at \(URL(string: baseURL)?.host ?? baseURL))" }

    /// What the fetch found: credentials, or why IMDS gave none (the chain then reports that it looked).
    enum Outcome: Sendable {
        case credentials(AWSCredentials)
        case unavailable(String)
    }

    private func url(_ path: String) throws -> URL {
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        guard let url = URL(string: base + path), url.host != nil else {
            throw ProviderFailure(.configuration, "the IMDS endpoint '\(baseURL)' is not a URL with a scheme and a host")
        }
        do {
            try AWSCredentialEndpoint.check(url, kind: .instanceMetadata)
        } catch let violation as EndpointPolicy.Violation {
            throw ProviderFailure(.configuration, "the IMDS endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT) is not usable: \(violation.message)")
        }
        return url
    }

    private func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await AWSCredentialEndpoint.send(request, kind: .instanceMetadata, timeout: timeout, client: client)
    }

    /// `attempts` tries at once, as botocore makes them: IMDS is on the host, nothing to back off from.
    private var retry: RetryPolicy { RetryPolicy(maxAttempts: attempts, baseDelay: 0, maxDelay: 0, timeLimit: 60) }

    func fetch() async throws -> Outcome {
        // 1. The IMDSv2 session token: asked again on any other answer, and on none.
        var token: String? = nil
        let tokenURL = try url("/latest/api/token")
        let final: Set<Int> = [400, 403, 404, 405]
        let tokenAnswer = try? await retry.send({ _ in
            try await send(
                HTTPRequest(method: "PUT", url: tokenURL, headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]))
        }, retrying: RetryPolicy.Retryable(unusable: { $0.status != 200 }) { !final.contains($0.status) })
        switch tokenAnswer?.response.status {
        case 200: token = tokenAnswer.map { String(decoding: $0.response.body, as: UTF8.self) }
        case 400: return .unavailable("\(source) refused the token request (HTTP 400)")
        default: break  // 403, 404, 405, a timeout or no answer: fall back to IMDSv1, as botocore does
        }
        if token == nil && v1Disabled {
            throw ProviderFailure(
                .authentication,
                "\(source): no IMDSv2 session token could be obtained and IMDSv1 is disabled (AWS_EC2_METADATA_V1_DISABLED / ec2_metadata_v1_disabled)")
        }
        var headers: [(String, String)] = []
        if let token { headers.append(("X-aws-ec2-metadata-token", token)) }

        // 2. The role name, 3. its credentials.
        let rolesPath = "/latest/meta-data/iam/security-credentials/"
        guard let roleBody = try await get(rolesPath, headers: headers, secrets: [token], needsJSON: false) else {
            // No token and no role: most likely not an EC2 instance at all.
            return .unavailable(token == nil ? "\(source) did not answer (not on EC2, or no instance role)" : "\(source) gave no instance role")
        }
        guard let role = String(decoding: roleBody, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init)?
            .trimmingCharacters(in: .whitespaces), !role.isEmpty,
            let escaped = role.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/")))
        else {
            return .unavailable("\(source) gave no instance role")
        }
        guard let body = try await get(rolesPath + escaped, headers: headers, secrets: [token], needsJSON: true),
            let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        else {
            return .unavailable("\(source) gave no credentials for the role '\(role)'")
        }
        guard json["AccessKeyId"] != nil, json["SecretAccessKey"] != nil, json["Token"] != nil, json["Expiration"] != nil else {
            // A 200 with {Code, Message}: for example the role does not trust EC2.
            let code = (json["Code"] as? String).map { " (\($0)" + ((json["Message"] as? String).map { ": \($0))" } ?? ")") } ?? ""
            return .unavailable("\(source) answered for role '\(role)' without credentials\(code)")
        }
        return .credentials(try ContainerCredentials.decode(json, source: "\(source), role '\(role)'"))
    }

    /// A GET retried up to `attempts` times on a non-200, an empty body or (for credentials) bad JSON.
    /// Nil when every attempt failed.
    private func get(_ path: String, headers: [(String, String)], secrets: [String?], needsJSON: Bool) async throws -> Data? {
        let target = try url(path)
        let unusable: @Sendable (HTTPResponse) -> Bool = { response in
            response.status != 200 || response.body.isEmpty
                || (needsJSON && (try? JSONSerialization.jsonObject(with: response.body)) == nil)
        }
        let outcome = try? await retry.send(
            { _ in try await send(HTTPRequest(method: "GET", url: target, headers: headers)) },
            retrying: RetryPolicy.Retryable(unusable: unusable) { _ in true })
        guard let response = outcome?.response, !unusable(response) else { return nil }
        return response.body
    }
}
