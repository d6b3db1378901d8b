import Foundation
import InjectSecretsKit

/// One AWS service as this tool calls it: the one place that says how it is signed, addressed and
/// configured, so that Secrets Manager, Parameter Store, STS, Lambda and the Tagging API find their
/// endpoints, FIPS hosts and partitions the same way (botocore's endpoint rules, and the SDKs' service
/// endpoint configuration: docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
package struct AWSService: Sendable {
    /// Shown in messages: `AWS Secrets Manager`.
    var name: String
    /// The SigV4 signing name and scope service: `secretsmanager`, `ssm`, `sts`.
    var signingName: String
    /// The awsJson `X-Amz-Target` prefix (`secretsmanager`, `AmazonSSM`); nil for REST and query services.
    var targetPrefix: String?
    /// The `AWS_ENDPOINT_URL_<ID>` suffix: `SECRETS_MANAGER`, `SSM`.
    var endpointID: String
    /// The `[services]` key in the AWS config file: `secrets_manager`, `ssm`.
    var configKey: String
    /// The regional endpoint's first label: `secretsmanager`, `tagging`.
    var hostPrefix: String
    /// Whether the service has `<host>-fips` regional endpoints. The Tagging API's published endpoints
    /// have no FIPS variant, so it keeps its standard host under FIPS rather than a name that does not resolve.
    var hasFIPSEndpoints = true

    static let secretsManager = AWSService(
        name: "AWS Secrets Manager", signingName: "secretsmanager", targetPrefix: "secretsmanager",
        endpointID: "SECRETS_MANAGER", configKey: "secrets_manager", hostPrefix: "secretsmanager")
    static let parameterStore = AWSService(
        name: "AWS Systems Manager Parameter Store", signingName: "ssm", targetPrefix: "AmazonSSM",
        endpointID: "SSM", configKey: "ssm", hostPrefix: "ssm")
    static let sts = AWSService(
        name: "STS", signingName: "sts", targetPrefix: nil, endpointID: "STS", configKey: "sts", hostPrefix: "sts")
    static let lambda = AWSService(
        name: "Lambda", signingName: "lambda", targetPrefix: nil, endpointID: "LAMBDA", configKey: "lambda",
        hostPrefix: "lambda")
    package static let tagging = AWSService(
        name: "Resource Groups Tagging API", signingName: "tagging", targetPrefix: "ResourceGroupsTaggingAPI_20170126",
        endpointID: "RESOURCE_GROUPS_TAGGING_API", configKey: "resource_groups_tagging_api", hostPrefix: "tagging",
        hasFIPSEndpoints: false)

    /// Every AWS call's retries: five attempts, 100 ms base, 20 s cap, two minutes in all. AWS's standard
    /// mode makes three, but a render reads many secrets in one burst, and a run that fails after a
    /// throttle costs more than a short wait.
    static let standardRetry = RetryPolicy(maxAttempts: 5, baseDelay: 0.1, maxDelay: 20, timeLimit: 120)

    /// The retry policy with `AWS_MAX_ATTEMPTS` applied (1-10), as the SDKs read it.
    static func retryPolicy(environment: [String: String]) -> RetryPolicy {
        var policy = standardRetry
        if let text = environment["AWS_MAX_ATTEMPTS"], let attempts = Int(text.trimmingCharacters(in: .whitespaces)),
            attempts >= 1
        {
            policy.maxAttempts = min(attempts, 10)
        }
        return policy
    }

    /// Where the configured endpoint can come from, for messages.
    var configuredBy: String { "AWS_ENDPOINT_URL_\(endpointID), AWS_ENDPOINT_URL or the AWS config file" }

    /// `https://<host>[-fips].<region>.<partition's DNS suffix>/`.
    func regionalEndpoint(region: String, fips: Bool) -> URL {
        let suffix = AWSPartition.of(region: region).dnsSuffix
        return URL(string: "https://\(hostPrefix)\(fips && hasFIPSEndpoints ? "-fips" : "").\(region).\(suffix)/")!
    }

    /// A configured endpoint (`AWSEnvironment.endpoint`), unchecked, else nil.
    func configuredEndpoint(in environment: AWSEnvironment) -> String? {
        environment.endpoint(serviceID: endpointID, configKey: configKey).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The endpoint a call goes to: the configured one, checked by `EndpointPolicy` and taken at its root
    /// (`rootURL`), else the regional one, FIPS when the environment asks. Throws
    /// `EndpointPolicy.Violation` for a configured endpoint that may not be used.
    func endpoint(region: String, environment: AWSEnvironment) throws -> URL {
        if let configured = configuredEndpoint(in: environment) {
            return Self.rootURL(try EndpointPolicy.checked(configured))
        }
        return regionalEndpoint(region: region, fips: environment.usesFIPSEndpoint)
    }

    /// awsJson and query services are called at `/` of the endpoint; a configured endpoint may carry a
    /// path prefix.
    static func rootURL(_ url: URL) -> URL {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return url }
        if components.path.isEmpty { components.path = "/" }
        components.query = nil
        components.fragment = nil
        return components.url ?? url
    }
}

/// The AWS partitions: the one table of which regions belong where, for endpoint hosts and ARNs.
package struct AWSPartition: Sendable, Equatable {
    /// The ARN partition: `aws`, `aws-cn`.
    package var name: String
    var dnsSuffix: String
    /// The region names that start with this belong to the partition.
    var regionPrefix: String

    static let all = [
        AWSPartition(name: "aws-cn", dnsSuffix: "amazonaws.com.cn", regionPrefix: "cn-"),
        AWSPartition(name: "aws-us-gov", dnsSuffix: "amazonaws.com", regionPrefix: "us-gov-"),
        AWSPartition(name: "aws-iso", dnsSuffix: "c2s.ic.gov", regionPrefix: "us-iso-"),
        AWSPartition(name: "aws-iso-b", dnsSuffix: "sc2s.sgov.gov", regionPrefix: "us-isob-"),
    ]
    static let standard = AWSPartition(name: "aws", dnsSuffix: "amazonaws.com", regionPrefix: "")

    /// The partition of `region`; the standard one for any other name (and for "").
    package static func of(region: String) -> AWSPartition {
        all.first { region.hasPrefix($0.regionPrefix) } ?? standard
    }
}

extension AWSEnvironment {
    /// `AWS_USE_FIPS_ENDPOINT`, else the profile's `use_fips_endpoint` (the SDKs' order): whether the
    /// regional endpoints are the FIPS ones. A configured endpoint is used as it is either way.
    var usesFIPSEndpoint: Bool {
        if let value = value("AWS_USE_FIPS_ENDPOINT") { return value.lowercased() == "true" }
        guard let files = try? AWSSharedFiles.load(variables: variables) else { return false }
        return files.profile(profileName)["use_fips_endpoint"]?.lowercased() == "true"
    }
}
