import Foundation
import InjectSecretsKit

/// AWS credentials. Prints redacted: a secret access key or session token is as sensitive as a secret.
package struct AWSCredentials: Sendable, Hashable, PrintsRedacted {
    package var accessKeyId: String
    package var secretAccessKey: String
    package var sessionToken: String?
    package var expiration: Date?

    package init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    package var redactedDescription: String { "AWSCredentials(\(accessKeyId), \(RunRedactor.replacement))" }
    package var visibleFields: KeyValuePairs<String, Any> { ["accessKeyId": accessKeyId] }
}

/// Where credentials come from (environment, profile, web identity, container, IMDS, ...).
package protocol AWSCredentialSource: Sendable {
    /// Resolves credentials, refreshing them when expired. Throws `ProviderFailure` (.authentication or
    /// .configuration) with a message that names the source and never holds a secret.
    func credentials() async throws -> AWSCredentials

    /// The secret key and session token obtained so far, without fetching any: for the run's
    /// redaction of messages.
    func credentialsInUse() async -> [String]
}

extension AWSCredentialSource {
    package func credentialsInUse() async -> [String] { [] }
}

extension AWSCredentials {
    /// The parts that must never be printed.
    var secretParts: [String] { [secretAccessKey] + (sessionToken.map { [$0] } ?? []) }
}

/// The AWS settings of this process as the SDKs resolve them: credentials chain, region and endpoints
/// from the environment and the shared config and credentials files (`AWSSharedFiles`).
///
/// Which profile: the manifest's, else `AWS_DEFAULT_PROFILE`, else `AWS_PROFILE`, else `default`.
/// botocore reads the two variables in that order (`BOTOCORE_DEFAUT_SESSION_VARIABLES['profile']`), so
/// this does too. A profile named by any of these must exist in one of the two files.
///
/// Environment credentials and an explicit profile: botocore drops its env provider only when the
/// profile is set on the session in code (`Session(profile=...)`), not when it comes from `AWS_PROFILE`
/// (then `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` still win, by design, see `create_credential_resolver`).
/// The manifest's `profile` setting is our equivalent of the session profile, so it skips the
/// environment keys (and the `AWS_WEB_IDENTITY_TOKEN_FILE`/`AWS_ROLE_ARN` variables, as botocore's
/// `disable_env_vars` does); `AWS_PROFILE` / `AWS_DEFAULT_PROFILE` do not.
package struct AWSEnvironment: Sendable {
    package var variables: [String: String]
    /// The profile named by the manifest (explicit: the environment's keys are then skipped); nil lets
    /// AWS_DEFAULT_PROFILE, AWS_PROFILE or `default` decide.
    package var profile: String?

    package init(variables: [String: String], profile: String? = nil) {
        self.variables = variables
        self.profile = profile
    }

    /// The profile in use: the manifest's, else AWS_DEFAULT_PROFILE, else AWS_PROFILE, else "default".
    package var profileName: String { namedProfile?.name ?? "default" }

    /// The profile and who named it, when someone did.
    var namedProfile: (name: String, origin: String)? {
        if let profile, !profile.isEmpty { return (profile, "the manifest's 'profile' setting") }
        if let name = value("AWS_DEFAULT_PROFILE") { return (name, "AWS_DEFAULT_PROFILE") }
        if let name = value("AWS_PROFILE") { return (name, "AWS_PROFILE") }
        return nil
    }

    /// A variable, nil when unset or empty (botocore treats an empty value as unset).
    func value(_ name: String) -> String? {
        guard let value = variables[name], !value.isEmpty else { return nil }
        return value
    }

    /// The SDKs' default credential chain (see `AWSCredentialChain`), resolved on first use and cached
    /// for the run. `region` picks the STS endpoint for AssumeRole and web identity; nil means
    /// `region(manifestRegion: nil)`.
    package func credentialSource(client: HTTPClient, region: String? = nil) -> any AWSCredentialSource {
        AWSCredentialChain(environment: self, client: client, region: region ?? self.region(manifestRegion: nil), signer: defaultRequestSigner)
    }

    /// The manifest's region, else AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`.
    package func region(manifestRegion: String?) -> String? {
        if let manifestRegion, !manifestRegion.isEmpty { return manifestRegion }
        if let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") { return region }
        guard let files = try? AWSSharedFiles.load(variables: variables) else { return nil }
        return files.profile(profileName)["region"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The CA bundle the SDKs trust instead of the system's: AWS_CA_BUNDLE, else the profile's
    /// `ca_bundle` (botocore's order). A missing or unreadable file is an error naming where it was set,
    /// placed at `location` (the provider declaration).
    package func caBundle(at location: SourceLocation? = nil) throws -> TLSTrust {
        if value("AWS_CA_BUNDLE") != nil {
            return try TLSTrust.fromEnvironment(variables, fileVariables: ["AWS_CA_BUNDLE"], at: location)
        }
        // An unreadable config file is reported by the credential chain, which reads it too.
        guard let files = try? AWSSharedFiles.load(variables: variables) else { return .system }
        let profile = files.profile(profileName)
        guard let path = profile["ca_bundle"], !path.isEmpty else { return .system }
        let file = AWSSharedFiles.expand(path, variables: variables)
        let origin = "'ca_bundle' of \(profile.place(of: "ca_bundle"))"
        if let problem = TLSTrust.problem(withFile: file) {
            throw InjectSecretsError.badInput("\(origin): the CA bundle \(problem)", at: location)
        }
        return TLSTrust(caFile: file, origin: origin)
    }

    /// A configured endpoint for a service: `serviceID` is the env suffix (`SECRETS_MANAGER`, `SSM`, `STS`),
    /// `configKey` the `[services]` key (`secrets_manager`, `ssm`, `sts`). Nil means the regional default.
    /// Unreadable config files count as no configuration here; `configuredEndpoint` reports them.
    package func endpoint(serviceID: String, configKey: String) -> String? {
        (try? configuredEndpoint(serviceID: serviceID, configKey: configKey)) ?? nil
    }

    /// botocore's precedence: `AWS_ENDPOINT_URL_<SERVICE_ID>`, `AWS_ENDPOINT_URL`, the profile's
    /// `services` section's `<configKey>` sub-section `endpoint_url`, the profile's `endpoint_url`; all
    /// off when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (or the profile's `ignore_configured_endpoint_urls`)
    /// is true. Throws `.configuration` when a config file cannot be parsed or the profile names a
    /// `services` section that does not exist.
    package func configuredEndpoint(serviceID: String, configKey: String) throws -> String? {
        let files = try AWSSharedFiles.load(variables: variables)
        let profile = files.profile(profileName)
        if let ignore = value("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") ?? profile["ignore_configured_endpoint_urls"],
            ignore.lowercased() == "true"
        {
            return nil
        }
        if let url = value("AWS_ENDPOINT_URL_\(serviceID)") ?? value("AWS_ENDPOINT_URL") { return url }
        if let servicesName = profile["services"], !servicesName.isEmpty {
            guard let section = files.services(servicesName) else {
                throw ProviderFailure(
                    .configuration,
                    "\(profile.place(of: "services")) uses services = \(servicesName), but the AWS config file \(files.configPath) has no [services \(servicesName)] section")
            }
            if case .nested(let settings)? = section.values[configKey.lowercased()], let url = settings["endpoint_url"], !url.isEmpty {
                return url
            }
        }
        if let url = profile["endpoint_url"], !url.isEmpty { return url }
        return nil
    }
}

/// The SigV4 signer for STS AssumeRole: the AWS providers' `SigV4Signer`.
var defaultRequestSigner: (any AWSRequestSigning)? { SigV4RequestSigning() }

/// `AWSRequestSigning` by `SigV4Signer` (the session token is signed, as STS expects).
struct SigV4RequestSigning: AWSRequestSigning {
    func signed(
        _ request: HTTPRequest, credentials: AWSCredentials, region: String, service: String, date: Date
    ) -> HTTPRequest {
        var request = request
        SigV4Signer(credentials: credentials, region: region, service: service).sign(&request, date: date)
        return request
    }
}

/// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (or the legacy AWS_SECURITY_TOKEN;
/// botocore prefers the legacy name when both are set, this prefers the standard one), with
/// AWS_CREDENTIAL_EXPIRATION when set.
package struct EnvironmentCredentialSource: AWSCredentialSource {
    package var variables: [String: String]

    package init(variables: [String: String]) { self.variables = variables }

    package func credentialsInUse() async -> [String] { ((try? Self.read(variables)) ?? nil)?.secretParts ?? [] }

    package func credentials() async throws -> AWSCredentials {
        guard let credentials = try Self.read(variables) else {
            throw ProviderFailure(.authentication, "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
        }
        return credentials
    }

    /// Nil when AWS_ACCESS_KEY_ID is unset or empty; an error when it is set without its secret.
    static func read(_ variables: [String: String]) throws -> AWSCredentials? {
        func value(_ name: String) -> String? {
            guard let value = variables[name], !value.isEmpty else { return nil }
            return value
        }
        guard let id = value("AWS_ACCESS_KEY_ID") else { return nil }
        guard let secret = value("AWS_SECRET_ACCESS_KEY") else {
            throw ProviderFailure(.configuration, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or unset AWS_ACCESS_KEY_ID to use a profile")
        }
        var expiration: Date? = nil
        if let text = value("AWS_CREDENTIAL_EXPIRATION") {
            guard let date = parseAWSTimestamp(text) else {
                throw ProviderFailure(.configuration, "AWS_CREDENTIAL_EXPIRATION '\(text)' is not an ISO-8601 time")
            }
            expiration = date
        }
        let token = value("AWS_SESSION_TOKEN") ?? value("AWS_SECURITY_TOKEN")
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }
}
