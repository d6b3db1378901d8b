import Foundation

/// `${ref.*}` for the AWS stores: the one-line reference `InjectSecretsRuntime` resolves through the
/// AWS Parameters and Secrets Lambda Extension, by full ARN.
extension AWSSecretsManagerStore: RuntimeReferencing {
    public static func runtimeReferenceProblems(_ request: RuntimeReferenceRequest) -> [String] {
        request.pinnedButFollowing.map { [$0] } ?? []
    }

    public static func runtimeReference(_ request: RuntimeReferenceRequest, version: String, locator: String?) throws -> String {
        let arn = try RuntimeReferenceRequest.arn(locator, service: "AWS Secrets Manager")
        return RuntimeReferenceLine.line(
            store: .secretsManager, arn: arn, selector: request.awsSelector(version: version, current: .stage("AWSCURRENT")),
            key: request.field)
    }
}

extension AWSParameterStore: RuntimeReferencing {
    public static func runtimeReferenceProblems(_ request: RuntimeReferenceRequest) -> [String] {
        request.pinnedButFollowing.map { [$0] } ?? []
    }

    public static func runtimeReference(_ request: RuntimeReferenceRequest, version: String, locator: String?) throws -> String {
        let arn = try RuntimeReferenceRequest.arn(locator, service: "AWS Systems Manager Parameter Store")
        return RuntimeReferenceLine.line(
            store: .ssm, arn: arn, selector: request.awsSelector(version: version, current: .current), key: request.field)
    }
}
