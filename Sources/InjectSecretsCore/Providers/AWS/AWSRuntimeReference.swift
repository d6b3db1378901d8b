import Foundation

/// `${ref.*}` for the AWS stores: the one-line reference `InjectSecretsRuntime` resolves through the
/// AWS Parameters and Secrets Lambda Extension, by full ARN, in the grammar of `RuntimeReference`.
extension AWSSecretsManagerStore: RuntimeReferencing {
    public static func runtimeReferenceProblems(_ request: RuntimeReferenceRequest) -> [String] {
        request.pinnedButFollowing.map { [$0] } ?? []
    }

    public static func runtimeReference(_ request: RuntimeReferenceRequest, version: String, locator: String?) throws -> String {
        try request.awsLine(.secretsManager, service: "AWS Secrets Manager", locator: locator, version: version, current: .stage("AWSCURRENT"))
    }
}

extension AWSParameterStore: RuntimeReferencing {
    public static func runtimeReferenceProblems(_ request: RuntimeReferenceRequest) -> [String] {
        request.pinnedButFollowing.map { [$0] } ?? []
    }

    public static func runtimeReference(_ request: RuntimeReferenceRequest, version: String, locator: String?) throws -> String {
        try request.awsLine(.ssm, service: "AWS Systems Manager Parameter Store", locator: locator, version: version, current: .current)
    }
}
