import Foundation
import InjectSecretsKit

/// ECS task roles and EKS Pod Identity: `GET` a local credentials endpoint (botocore's `ContainerProvider`).
///
/// - `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` → `http://169.254.170.2<uri>`;
/// - else `AWS_CONTAINER_CREDENTIALS_FULL_URI`, which must be HTTPS, loopback, or one of the link-local
///   hosts of `AWSCredentialEndpoint.containerHosts`;
/// - `Authorization` is the contents of `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read on every fetch, so a
///   rotated token is picked up), else `AWS_CONTAINER_AUTHORIZATION_TOKEN`. A CR or LF inside it is refused
///   (header injection); a single trailing newline, as editors leave at the end of a file, is dropped.
/// - 2 s timeout, 3 attempts one second apart, as botocore, through the one retry loop; the kind of a
///   refusal is `StatusTable`'s.
struct ContainerCredentials: Sendable {
    var url: URL
    /// Which variable gave the URL, for messages.
    var urlVariable: String
    var variables: [String: String]
    var client: HTTPClient
    var timeout: TimeInterval = 2
    var attempts = 3
    var pause: TimeInterval = 1

    static let relativeURIVariable = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
    static let fullURIVariable = "AWS_CONTAINER_CREDENTIALS_FULL_URI"

    /// Nil when neither variable is set; throws when the one that is set is unusable.
    static func configured(variables: [String: String], client: HTTPClient) throws -> ContainerCredentials? {
        if let relative = variables[relativeURIVariable] {
            guard let url = URL(string: "http://169.254.170.2" + relative), url.host == "169.254.170.2" else {
                throw ProviderFailure(.configuration, "\(relativeURIVariable) is not a path that can follow http://169.254.170.2")
            }
            return ContainerCredentials(url: url, urlVariable: relativeURIVariable, variables: variables, client: client)
        }
        if let full = variables[fullURIVariable] {
            guard let url = URL(string: full), url.host != nil else {
                throw ProviderFailure(.configuration, "\(fullURIVariable) is not a URL with a scheme and a host")
            }
            do {
                try AWSCredentialEndpoint.check(url, kind: .container)
            } catch {
                throw ProviderFailure(
                    .configuration,
                    "\(fullURIVariable) must use https, a loopback address, or one of 169.254.170.2, 169.254.170.23, [fd00:ec2::23]; "
                        + "'\(url.host ?? full)' over \(url.scheme ?? "no scheme") is not allowed")
            }
            return ContainerCredentials(url: url, urlVariable: fullURIVariable, variables: variables, client: client)
        }
        return nil
    }

    var source: String { "container credentials (\(urlVariable), \(url.host ?? ""))" }

    func authorization() throws -> String? {
        let fileVariable = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
        var token: String
        var from: String
        if let path = variables[fileVariable] {
            let read: Data?
            do { read = try BoundedFile.read(path, limit: BoundedFile.credentialLimit) } catch let error as FilesystemError {
                throw ProviderFailure(.configuration, "\(source): cannot read the token file \(path) named by \(fileVariable): \(error.clause)")
            }
            guard let data = read else {
                throw ProviderFailure(.configuration, "\(source): cannot read the token file \(path) named by \(fileVariable)")
            }
            token = String(decoding: data, as: UTF8.self)
            from = "the file \(path) named by \(fileVariable)"
        } else if let value = variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"] {
            token = value
            from = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
        } else {
            return nil
        }
        // Swift's "\r\n" is one Character: look at scalars so neither half slips through.
        var scalars = Array(token.unicodeScalars)
        if scalars.last == "\n" {
            scalars.removeLast()
            if scalars.last == "\r" { scalars.removeLast() }
        }
        token = String(String.UnicodeScalarView(scalars))
        if token.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw ProviderFailure(.configuration, "\(source): the authorization token from \(from) contains a line break, which is not allowed in a header")
        }
        return token
    }

    /// Every failed answer is retried, a refusal included, after a fixed pause rather than a backoff, as
    /// botocore's `ContainerMetadataFetcher` does. (It also retries a 200 that is not JSON; here a 2xx is
    /// final, as for every call through the one loop.)
    var retryable: RetryPolicy.Retryable { RetryPolicy.Retryable(wait: { [pause] _ in pause }, answer: { _ in true }) }

    func credentials() async throws -> AWSCredentials {
        let retry = RetryPolicy(maxAttempts: max(1, attempts), baseDelay: pause, maxDelay: pause, timeLimit: 60)
        var sentTokens: [String?] = []
        let outcome: RetryPolicy.Outcome
        do {
            outcome = try await retry.send({ _ in
                // Re-read each attempt: the file may be rotated between them.
                let token = try authorization()
                sentTokens.append(token)
                var headers = [("Accept", "application/json")]
                if let token { headers.append(("Authorization", token)) }
                return try await AWSCredentialEndpoint.send(
                    HTTPRequest(method: "GET", url: url, headers: headers), kind: .container, timeout: timeout, client: client)
            }, retrying: retryable)
        } catch let failure as RetryFailure {
            throw failure.providerFailure(reaching: url.host ?? "", lead: "\(source): ", hiding: sentTokens)
        }
        let response = outcome.response
        guard response.status == 200 else {
            let body = excerpt(response.body, hiding: sentTokens)
            throw ProviderFailure(
                StatusTable.kind(status: response.status, asking: .credential),
                "\(source): HTTP \(response.status)" + (body.isEmpty ? "" : ": \(body)") + outcome.attemptsNote)
        }
        guard let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw ProviderFailure(.invalidResponse, "\(source): the reply is not a JSON object")
        }
        return try Self.decode(json, source: source)
    }

    /// `{AccessKeyId, SecretAccessKey, Token, Expiration}`: the shape of both container and IMDS replies.
    static func decode(_ json: [String: Any], source: String) throws -> AWSCredentials {
        guard let accessKeyId = json["AccessKeyId"] as? String, !accessKeyId.isEmpty,
            let secretAccessKey = json["SecretAccessKey"] as? String, !secretAccessKey.isEmpty
        else {
            throw ProviderFailure(.invalidResponse, "\(source): the reply lacks AccessKeyId or SecretAccessKey")
        }
        var expiration: Date? = nil
        if let text = json["Expiration"] as? String {
            guard let date = parseAWSTimestamp(text) else {
                throw ProviderFailure(.invalidResponse, "\(source): Expiration '\(text)' is not an ISO-8601 time")
            }
            expiration = date
        }
        let token = (json["Token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey, sessionToken: token, expiration: expiration)
    }
}
