import Foundation

/// AWS credentials. Prints redacted: a secret access key or session token is as sensitive as a secret.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public var expiration: Date?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    public var description: String { "AWSCredentials(\(accessKeyId), <redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["accessKeyId": accessKeyId]) }
}

/// Where credentials come from (environment, profile, web identity, container, IMDS, ...).
public protocol AWSCredentialSource: Sendable {
    /// Resolves credentials, refreshing them when expired. Throws `ProviderFailure` (.authentication or
    /// .configuration) with a message that names the source and never holds a secret.
    func credentials() async throws -> AWSCredentials
}

/// The AWS settings of this process as the SDKs resolve them: credentials chain, region and endpoints
/// from the environment and the shared config and credentials files.
public struct AWSEnvironment: Sendable {
    public var variables: [String: String]
    /// The profile named by the manifest, else AWS_PROFILE / AWS_DEFAULT_PROFILE, else "default".
    public var profile: String?

    public init(variables: [String: String], profile: String? = nil) {
        self.variables = variables
        self.profile = profile
    }

    /// The SDKs' default credential chain.
    public func credentialSource(client: HTTPClient) -> any AWSCredentialSource {
        EnvironmentCredentialSource(variables: variables)
    }

    /// The manifest's region, else AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
    public func region(manifestRegion: String?) -> String? {
        if let manifestRegion, !manifestRegion.isEmpty { return manifestRegion }
        return variables["AWS_REGION"] ?? variables["AWS_DEFAULT_REGION"]
    }

    /// A configured endpoint for a service: `serviceID` is the env suffix (`SECRETS_MANAGER`, `SSM`, `STS`),
    /// `configKey` the `[services]` key (`secrets_manager`, `ssm`, `sts`). Nil means the regional default.
    public func endpoint(serviceID: String, configKey: String) -> String? {
        if variables["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] == "true" { return nil }
        return variables["AWS_ENDPOINT_URL_\(serviceID)"] ?? variables["AWS_ENDPOINT_URL"]
    }
}

/// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
public struct EnvironmentCredentialSource: AWSCredentialSource {
    public var variables: [String: String]

    public init(variables: [String: String]) { self.variables = variables }

    public func credentials() async throws -> AWSCredentials {
        guard let id = variables["AWS_ACCESS_KEY_ID"], !id.isEmpty,
            let secret = variables["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        else {
            throw ProviderFailure(.authentication, "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
        }
        let token = variables["AWS_SESSION_TOKEN"] ?? variables["AWS_SECURITY_TOKEN"]
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token?.isEmpty == true ? nil : token)
    }
}
