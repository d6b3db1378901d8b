import Foundation
import InjectSecretsKit
import InjectSecretsReference

/// `${ref.*}` for the AWS stores: the one-line reference `InjectSecretsRuntime` resolves through the
/// AWS Parameters and Secrets Lambda Extension, by full ARN, in the grammar of `RuntimeReference`.
extension AWSSecretsManagerStore: RuntimeReferencing {
    package static func runtimeReferenceProblems(_ request: RuntimeReferenceRequest) -> [String] {
        request.pinnedButFollowing.map { [$0] } ?? []
    }

    package static func runtimeReference(_ request: RuntimeReferenceRequest, version: String, locator: String?) throws -> String {
        try request.awsLine(.secretsManager, service: "AWS Secrets Manager", locator: locator, version: version, current: .stage("AWSCURRENT"))
    }
}

extension AWSParameterStore: RuntimeReferencing {
    package static func runtimeReferenceProblems(_ request: RuntimeReferenceRequest) -> [String] {
        request.pinnedButFollowing.map { [$0] } ?? []
    }

    package static func runtimeReference(_ request: RuntimeReferenceRequest, version: String, locator: String?) throws -> String {
        try request.awsLine(.ssm, service: "AWS Systems Manager Parameter Store", locator: locator, version: version, current: .current)
    }
}

extension RuntimeReferenceRequest {
    /// The AWS stores' selector: the version, or with `:current` the declaration's stage (else `current`
    /// as `current` spells it for this store).
    func awsSelector(version: String, current: RuntimeReference.Selector) -> RuntimeReference.Selector {
        guard follows else { return .version(version) }
        if case .stage(let label) = policy { return .stage(label) }
        return current
    }

    /// The line for an AWS store's answer, checked by the grammar's own rules: the runtime reads by full
    /// ARN, so an answer without one (or with a version of the wrong shape) is the store's failure.
    func awsLine(
        _ store: RuntimeReference.Store, service: String, locator: String?, version: String, current: RuntimeReference.Selector
    ) throws -> String {
        guard let locator, locator.hasPrefix("arn:") else {
            throw ProviderFailure(.invalidResponse, "\(service) gave no ARN for the secret, which the reference must name")
        }
        do {
            return try RuntimeReference(store: store, arn: locator, selector: awsSelector(version: version, current: current), key: field)
                .description
        } catch let error as RuntimeReferenceError {
            throw ProviderFailure(.invalidResponse, "\(service)'s answer makes no valid reference: \(error)")
        }
    }
}
