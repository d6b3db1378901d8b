import Foundation
import InjectSecretsKit

/// The SDK default credential chain in botocore's order (`create_credential_resolver`):
///
///  1. environment keys (skipped when the manifest names the profile, see `AWSEnvironment`);
///  2. assume role: the profile's `role_arn` with `source_profile` or `credential_source`;
///  3. web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, or the profile's `web_identity_token_file`;
///  4. SSO (`sso_session` / `sso_start_url`): not supported, a clear error instead;
///  5. static keys in the shared credentials file's `[profile]`;
///  6. `login_session`: not supported, a clear error;
///  7. the profile's `credential_process`;
///  8. static keys in the config file's profile;
///  9. container credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`);
/// 10. IMDS (instance role).
///
/// The first source that is configured is the one used (1–9 are chosen from configuration alone; IMDS by
/// answering), and its errors are the run's errors: a broken profile does not silently fall through to
/// another identity. The choice and the credentials are cached for the run; credentials that expire are
/// fetched again before they do (`RefreshingCredentials`).
actor AWSCredentialChain: AWSCredentialSource {
    let environment: AWSEnvironment
    let client: HTTPClient
    let region: String?
    let signer: (any AWSRequestSigning)?
    private var resolution: Task<any AWSCredentialSource, Error>?

    init(environment: AWSEnvironment, client: HTTPClient, region: String?, signer: (any AWSRequestSigning)?) {
        self.environment = environment
        self.client = client
        self.region = region
        self.signer = signer
    }

    func credentials() async throws -> AWSCredentials {
        try await source().credentials()
    }

    func credentialsInUse() async -> [String] {
        guard let chosen = try? await resolution?.value else { return [] }
        return await chosen.credentialsInUse()
    }

    /// The source the chain chose. A failure to choose (no credentials anywhere, a broken file) is
    /// cached too, so a run with many secrets reports it once instead of probing IMDS for each.
    func source() async throws -> any AWSCredentialSource {
        if let resolution { return try await resolution.value }
        let environment = self.environment, client = self.client, region = self.region, signer = self.signer
        let task = Task {
            try await AWSCredentialResolver(environment: environment, client: client, region: region, signer: signer).resolve()
        }
        resolution = task
        return try await task.value
    }
}

/// Picks the source of the chain (see `AWSCredentialChain`). Also resolves `source_profile` chains.
struct AWSCredentialResolver: Sendable {
    var environment: AWSEnvironment
    var client: HTTPClient
    var region: String?
    var signer: (any AWSRequestSigning)?

    var variables: [String: String] { environment.variables }

    func resolve() async throws -> any AWSCredentialSource {
        let files = try AWSSharedFiles.load(variables: variables)
        let named = environment.namedProfile
        let profileName = environment.profileName
        let explicit = environment.profile.map { !$0.isEmpty } ?? false
        let profile = files.profile(profileName)
        if let named, !profile.exists {
            throw ProviderFailure(
                .configuration,
                "the AWS profile '\(named.name)' (from \(named.origin)) is in neither the AWS config file \(files.configPath) "
                    + "nor the shared credentials file \(files.credentialsPath)")
        }
        // 1. Environment.
        if !explicit, let credentials = try EnvironmentCredentialSource.read(variables) {
            return StaticCredentials(value: credentials)
        }
        // 2–8. The profile.
        let profiles = ProfileCredentials(files: files, variables: variables, sts: sts, client: client)
        if let source = try profiles.assumeRole(profileName, visited: [profileName]) { return source }
        if let source = try profiles.providers(profileName, disableEnvironment: explicit) { return source }
        // 9. Container.
        if let container = try ContainerCredentials.configured(variables: variables, client: client) {
            return RefreshingCredentials(name: container.source) { try await container.credentials() }
        }
        // 10. IMDS.
        var imdsNote: String
        if let imds = InstanceMetadataCredentials.configured(variables: variables, profile: profile, client: client) {
            switch try await imds.fetch() {
            case .credentials(let credentials):
                return RefreshingCredentials(name: imds.source, initial: credentials) { try await imds.required() }
            case .unavailable(let why):
                imdsNote = why
            }
        } else {
            imdsNote = "instance metadata is turned off by AWS_EC2_METADATA_DISABLED"
        }
        let profileText = named.map { "profile '\($0.name)' (from \($0.origin))" } ?? "profile 'default'"
        throw ProviderFailure(
            .authentication,
            "no AWS credentials found. Looked at: " + [
                explicit ? "the environment (skipped: the manifest names a profile)" : "AWS_ACCESS_KEY_ID (unset)",
                "\(profileText) in \(files.configPath)\(files.config == nil ? " (no such file)" : "") and \(files.credentialsPath)\(files.credentials == nil ? " (no such file)" : ""): no keys, role_arn, web_identity_token_file or credential_process",
                "AWS_WEB_IDENTITY_TOKEN_FILE (unset)",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI (unset)",
                imdsNote,
            ].joined(separator: "; ")
                + ". Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile with AWS_PROFILE.")
    }

    var sts: STSClient { STSClient.make(environment: environment, region: region, client: client, signer: signer) }
}

extension InstanceMetadataCredentials {
    /// A refresh: IMDS that answered before and no longer does is an error.
    func required() async throws -> AWSCredentials {
        switch try await fetch() {
        case .credentials(let credentials): return credentials
        case .unavailable(let why): throw ProviderFailure(.authentication, why)
        }
    }
}

/// The profile-based sources: botocore's `AssumeRoleProvider` and `ProfileProviderBuilder.providers`.
struct ProfileCredentials: Sendable {
    var files: AWSSharedFiles
    var variables: [String: String]
    var sts: STSClient
    var client: HTTPClient

    private func value(_ name: String) -> String? {
        guard let value = variables[name], !value.isEmpty else { return nil }
        return value
    }

    private static func hasStaticKeys(_ profile: AWSProfile) -> Bool {
        profile.has("aws_access_key_id") || profile.has("aws_secret_access_key")
    }

    private static func assumesRole(_ profile: AWSProfile) -> Bool {
        profile.has("role_arn") && !profile.has("web_identity_token_file")
    }

    /// Web identity, SSO, credentials-file keys, login, credential_process, config-file keys: the first
    /// configured one, or nil.
    func providers(_ name: String, disableEnvironment: Bool) throws -> (any AWSCredentialSource)? {
        let profile = files.profile(name)
        if let source = try webIdentity(profile, disableEnvironment: disableEnvironment) { return source }
        if profile.has("sso_session") || profile.has("sso_start_url") {
            throw ProviderFailure(
                .configuration,
                "\(profile.place(of: profile.has("sso_session") ? "sso_session" : "sso_start_url")) uses AWS IAM Identity Center (SSO), "
                    + "which inject-secrets does not sign in to; add `credential_process = aws configure export-credentials --profile \(name) --format process` "
                    + "to a profile, or export the credentials")
        }
        if let section = files.credentials?.section(name), section.values["aws_access_key_id"] != nil {
            return StaticCredentials(value: try staticKeys(section.values, place: "profile '\(name)' in the AWS shared credentials file \(files.credentialsPath)"))
        }
        if profile.has("login_session") {
            throw ProviderFailure(
                .configuration,
                "\(profile.place(of: "login_session")) uses console login credentials (login_session), which inject-secrets does not support; "
                    + "use `credential_process = aws configure export-credentials --profile \(name) --format process`")
        }
        if let command = profile["credential_process"] {
            let process = CredentialProcess(
                command: command, source: "credential_process of \(profile.place(of: "credential_process"))", environment: variables)
            return RefreshingCredentials(name: process.source) { try await process.credentials() }
        }
        if let section = files.configOnlyProfile(name), section.values["aws_access_key_id"] != nil {
            return StaticCredentials(
                value: try staticKeys(section.values, place: "\(section.name == "default" ? "profile 'default'" : "[\(section.name)]") in the AWS config file \(files.configPath)"))
        }
        return nil
    }

    private func staticKeys(_ values: [String: AWSINIFile.Value], place: String) throws -> AWSCredentials {
        guard let id = values["aws_access_key_id"]?.text, !id.isEmpty else {
            throw ProviderFailure(.configuration, "\(place) has an empty aws_access_key_id")
        }
        guard let secret = values["aws_secret_access_key"]?.text, !secret.isEmpty else {
            throw ProviderFailure(.configuration, "\(place) has aws_access_key_id but no aws_secret_access_key")
        }
        let token = (values["aws_session_token"]?.text ?? values["aws_security_token"]?.text).flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token)
    }

    /// AssumeRoleWithWebIdentity: each setting from its variable (unless disabled), else from the profile.
    func webIdentity(_ profile: AWSProfile, disableEnvironment: Bool) throws -> (any AWSCredentialSource)? {
        func setting(_ variable: String, _ key: String) -> (value: String, origin: String)? {
            if !disableEnvironment, let value = value(variable) { return (value, variable) }
            if let value = profile[key], !value.isEmpty { return (value, profile.place(of: key)) }
            return nil
        }
        guard let tokenFile = setting("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file") else { return nil }
        guard let roleArn = setting("AWS_ROLE_ARN", "role_arn") else {
            throw ProviderFailure(
                .configuration,
                "web identity is configured (web_identity_token_file from \(tokenFile.origin)) but no role ARN is: "
                    + "set AWS_ROLE_ARN or role_arn in profile '\(profile.name)'")
        }
        let sessionName = setting("AWS_ROLE_SESSION_NAME", "role_session_name")?.value
        let durationSeconds = profile["duration_seconds"].flatMap(Int.init)
        let sts = self.sts
        let source = "web identity (token file \(tokenFile.value) from \(tokenFile.origin), role \(roleArn.value))"
        return RefreshingCredentials(name: source) {
            // Read on every refresh: the platform rotates the token in place.
            let read: Data?
            do { read = try BoundedFile.read(tokenFile.value, limit: BoundedFile.credentialLimit) } catch let error as FilesystemError {
                throw ProviderFailure(.configuration, "\(source): cannot read the token file: \(error.clause)")
            }
            guard let data = read else { throw ProviderFailure(.configuration, "\(source): cannot read the token file") }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw ProviderFailure(.configuration, "\(source): the token file is empty") }
            return try await sts.assumeRoleWithWebIdentity(
                roleArn: roleArn.value, sessionName: sessionName ?? defaultSessionName(), token: token,
                durationSeconds: durationSeconds, source: source)
        }
    }

    /// The profile's `role_arn` with `source_profile` or `credential_source`; nil when it has no
    /// `role_arn` (or has `web_identity_token_file`, which `webIdentity` handles).
    func assumeRole(_ name: String, visited: [String]) throws -> (any AWSCredentialSource)? {
        let profile = files.profile(name)
        guard Self.assumesRole(profile), let roleArn = profile["role_arn"] else { return nil }
        let place = profile.place(of: "role_arn")
        let sourceProfile = profile["source_profile"]
        let credentialSource = profile["credential_source"]
        if profile.has("mfa_serial") {
            throw ProviderFailure(
                .configuration, "\(profile.place(of: "mfa_serial")) needs an MFA code (mfa_serial), which inject-secrets cannot prompt for")
        }
        let baseCredentials: any AWSCredentialSource
        switch (sourceProfile, credentialSource) {
        case (.some, .some):
            throw ProviderFailure(.configuration, "\(place) sets both source_profile and credential_source; keep one")
        case (nil, nil):
            throw ProviderFailure(.configuration, "\(place) sets role_arn but neither source_profile nor credential_source")
        case (nil, .some(let named)):
            baseCredentials = try namedSource(named, profile: profile)
        case (.some(let sourceName), nil):
            guard files.profileNames().contains(sourceName) else {
                throw ProviderFailure(
                    .configuration,
                    "\(profile.place(of: "source_profile")) names source_profile '\(sourceName)', which is in neither \(files.configPath) nor \(files.credentialsPath)")
            }
            let sourceProfileValues = files.profile(sourceName)
            if visited.contains(sourceName) {
                // A profile may name itself to take its own static keys; any other cycle is an error.
                guard sourceName == name, Self.hasStaticKeys(sourceProfileValues) else {
                    throw ProviderFailure(
                        .configuration,
                        "source_profile forms a loop: \((visited + [sourceName]).map { "'\($0)'" }.joined(separator: " → "))")
                }
            }
            if Self.hasStaticKeys(sourceProfileValues) || !Self.assumesRole(sourceProfileValues) {
                guard let found = try providers(sourceName, disableEnvironment: true) else {
                    throw ProviderFailure(
                        .configuration, "the source_profile '\(sourceName)' of profile '\(name)' has no credentials (keys, web identity or credential_process)")
                }
                baseCredentials = found
            } else {
                // Role chaining: the source profile assumes a role of its own.
                baseCredentials = try assumeRole(sourceName, visited: visited + [sourceName])!
            }
        }
        let sessionName = profile["role_session_name"]
        let externalId = profile["external_id"]
        let durationSeconds = profile["duration_seconds"].flatMap(Int.init)
        let sts = self.sts
        let source = "AssumeRole of \(roleArn) for \(place)"
        return RefreshingCredentials(name: source) {
            let credentials = try await baseCredentials.credentials()
            return try await sts.assumeRole(
                roleArn: roleArn, sessionName: sessionName ?? defaultSessionName(), externalId: externalId,
                durationSeconds: durationSeconds, credentials: credentials, source: source)
        }
    }

    /// `credential_source`: Environment, Ec2InstanceMetadata or EcsContainer (botocore's canonical names,
    /// case-insensitive).
    private func namedSource(_ named: String, profile: AWSProfile) throws -> any AWSCredentialSource {
        let place = profile.place(of: "credential_source")
        switch named.lowercased() {
        case "environment":
            guard let credentials = try EnvironmentCredentialSource.read(variables) else {
                throw ProviderFailure(
                    .configuration, "\(place) sets credential_source = Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
            }
            return StaticCredentials(value: credentials)
        case "ecscontainer":
            guard let container = try ContainerCredentials.configured(variables: variables, client: client) else {
                throw ProviderFailure(
                    .configuration,
                    "\(place) sets credential_source = EcsContainer, but neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set")
            }
            return RefreshingCredentials(name: container.source) { try await container.credentials() }
        case "ec2instancemetadata":
            guard let imds = InstanceMetadataCredentials.configured(variables: variables, profile: profile, client: client) else {
                throw ProviderFailure(
                    .configuration, "\(place) sets credential_source = Ec2InstanceMetadata, but AWS_EC2_METADATA_DISABLED is true")
            }
            return RefreshingCredentials(name: imds.source) { try await imds.required() }
        default:
            throw ProviderFailure(
                .configuration, "\(place) sets credential_source = \(named); use Environment, Ec2InstanceMetadata or EcsContainer")
        }
    }
}

/// `inject-secrets-<epoch>` (botocore uses `botocore-session-<epoch>`): the session name shows in
/// CloudTrail, so it names the tool that asked.
func defaultSessionName() -> String {
    "inject-secrets-\(Int(Date().timeIntervalSince1970))"
}
