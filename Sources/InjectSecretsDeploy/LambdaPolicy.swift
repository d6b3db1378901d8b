import Foundation
import InjectSecretsAWS
import InjectSecretsCore
import InjectSecretsKit

/// The IAM access `deploy` and `drift --deployed` need for the functions with a `lambda:` target.
struct LambdaPolicy {
    var deploy: AccessPolicy
    var deployedDrift: AccessPolicy
    var deployedVerify: AccessPolicy

    /// Nil when no selected function has a `lambda:` target.
    static func describe(_ workspace: Workspace) throws -> LambdaPolicy? {
        let targets = try workspace.functions.compactMap { function in
            try function.lambdaNode.map { try LambdaTarget.parse($0, function: function.name) }
        }
        guard !targets.isEmpty else { return nil }
        let environment = workspace.options.processEnvironment
        var guessed: Set<String> = []
        let arns = targets.map { target -> String in
            if target.name.hasPrefix("arn:") { return target.name }
            var region = target.region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? ""
            if region.isEmpty {
                region = "*"
                guessed.insert("the region of Lambda '\(target.name)' (set 'region:' under 'lambda:', or AWS_REGION)")
            }
            var account = environment["AWS_ACCOUNT_ID"] ?? ""
            if account.isEmpty {
                account = "*"
                guessed.insert("the account id (set AWS_ACCOUNT_ID)")
            }
            let partition = AWSPartition.of(region: region == "*" ? "" : region).name
            return "arn:\(partition):lambda:\(region):\(account):function:\(target.name)"
        }
        let resources = Array(Set(arns)).sorted()
        var deployActions = ["lambda:UpdateFunctionConfiguration", "lambda:GetFunction", "lambda:TagResource"]
        if targets.contains(where: { $0.variables == .merge }) { deployActions.insert("lambda:GetFunctionConfiguration", at: 1) }
        let notes = guessed.sorted().map { "not in the manifest, written '*': \($0)" }

        var deploy = IAMPolicy()
        deploy.statements.append(.init(sid: "DeployLambdaEnvironments", actions: deployActions, resources: resources))
        var drift = IAMPolicy()
        drift.statements.append(.init(sid: "ListDeploymentTags", actions: ["tag:GetResources"], resources: ["*"]))
        drift.statements.append(.init(sid: "ReadDeploymentTagsPerFunction", actions: ["lambda:ListTags"], resources: resources))
        let driftNotes = notes + [
            "tag:GetResources is authorized on \"*\" only; it lists one page per 100 tagged functions. Without it, drift --deployed makes one ListTags per function",
            "sts:GetCallerIdentity (the account for function ARNs) needs no permission",
        ]
        var verify = IAMPolicy()
        verify.statements.append(.init(sid: "ReadLiveEnvironments", actions: ["lambda:GetFunctionConfiguration"], resources: resources))
        let verifyNotes = notes + [
            "on top of drift --deployed: GetFunctionConfiguration returns the function's environment, values included, so --verify is for the deploy role, which also needs the render access of each function's stores (above) to render the lock's versions in memory",
        ]
        return LambdaPolicy(
            deploy: AccessPolicy(document: deploy.json, text: deploy.json.pretty(), notes: notes, approximate: !guessed.isEmpty),
            deployedDrift: AccessPolicy(document: drift.json, text: drift.json.pretty(), notes: driftNotes, approximate: !guessed.isEmpty),
            deployedVerify: AccessPolicy(document: verify.json, text: verify.json.pretty(), notes: verifyNotes, approximate: !guessed.isEmpty))
    }
}

extension InjectSecrets {
    /// `policy` with what `deploy`, `drift --deployed` and its `--verify` need for the functions with a
    /// `lambda:` target.
    package func policyWithDeployment(_ options: RunOptions) throws -> PolicyReport {
        let workspace = try Workspace.open(options, registry: registry, makeProviders: false)
        var report = try policy(workspace)
        if let lambda = try LambdaPolicy.describe(workspace) {
            report.deploy = lambda.deploy
            report.deployedDrift = lambda.deployedDrift
            report.deployedVerify = lambda.deployedVerify
        }
        return report
    }
}
