import Foundation
import InjectSecretsAWS
import InjectSecretsCore
import InjectSecretsKit

/// One function's share of a deploy: what to set and where.
struct LambdaDeployJob: Sendable {
    var function: String
    var target: LambdaTarget
    var region: String
    var client: LambdaClient
    var variables: [String: String]
    /// The run's redactor: the variables already on a function (`variables: merge`) may be secrets too.
    var redactor: RunRedactor
    var digest: String

    enum Outcome: Sendable {
        case updated(DeployReport.Function)
        case failed(LambdaClient.Failure)
        case notAttempted
    }

    /// Sets the environment, waits for `Successful`, then tags. The first status check comes after two
    /// seconds (an environment update usually takes about that long), then one a second.
    func run(waitLimit: TimeInterval) async -> Outcome {
        do {
            var variables = self.variables
            if target.variables == .merge {
                let existing = try await client.configuration(of: target.name, withVariables: true).variables ?? [:]
                redactor.remember(existing.values)
                variables = existing.merging(variables) { _, rendered in rendered }
                if let problem = LambdaEnvironmentRules.sizeProblem(variables, function: function) {
                    throw LambdaClient.Failure(code: nil, status: nil, message: problem + " (merged with the variables already set)", kind: .configuration, unwritable: true)
                }
            }
            var configuration = try await client.updateEnvironment(of: target.name, to: variables)
            // The update's own answer is the first check; the status is asked again from then on.
            var answered = true
            let succeeded = try await BoundedWait.until(limit: waitLimit, first: 2) {
                if !answered { configuration = try await client.updateStatus(of: target.name) }
                answered = false
                if configuration.lastUpdateStatus == "Failed" {
                    throw LambdaClient.Failure(
                        code: nil, status: nil,
                        message: "Lambda reports the update Failed: \(configuration.lastUpdateStatusReason.map(RelayedText.line) ?? "no reason given")", kind: .invalidResponse)
                }
                return configuration.lastUpdateStatus == "Successful"
            }
            guard succeeded else {
                throw LambdaClient.Failure(
                    code: nil, status: nil,
                    message: "the update is still \(configuration.lastUpdateStatus ?? "pending") after \(Int(waitLimit)) s", kind: .unreachable)
            }
            guard let arn = configuration.arn else {
                throw LambdaClient.Failure(code: nil, status: nil, message: "Lambda gave no FunctionArn", kind: .invalidResponse)
            }
            try await client.tag(arn, [DeploymentTag.key: digest])
            return .updated(DeployReport.Function(
                function: function, lambda: target.name, region: region, arn: arn, variables: variables.keys.sorted(),
                mode: target.variables.rawValue, digest: digest))
        } catch let failure as LambdaClient.Failure {
            return .failed(failure)
        } catch {
            return .failed(LambdaClient.Failure(code: nil, status: nil, message: "\(type(of: error))", kind: .unreachable))
        }
    }

    /// Runs the jobs with at most `concurrency` in flight; after the first failure no new one starts (those
    /// in flight finish), so a broken setup does not touch the whole fleet. Outcomes keep the jobs' order.
    static func runAll(_ jobs: [LambdaDeployJob], concurrency: Int, waitLimit: TimeInterval) async -> [Outcome] {
        let stop = OnceFlag()
        return await boundedConcurrentMap(jobs, limit: concurrency) { job in
            if await stop.isSet { return .notAttempted }
            let outcome = await job.run(waitLimit: waitLimit)
            if case .failed = outcome { await stop.set() }
            return outcome
        }
    }

    /// The report of a deploy that failed somewhere: one error per failed function at its target, the
    /// last also saying which functions were updated and which were not tried. Lambda's messages pass the
    /// run's redactor: none of the values or credentials read reaches them.
    static func failureError(_ jobs: [LambdaDeployJob], _ outcomes: [Outcome], redactor: RunRedactor) -> InjectSecretsError? {
        var done: [String] = []
        var rest: [String] = []
        var failures: [(LambdaDeployJob, LambdaClient.Failure)] = []
        for (job, outcome) in zip(jobs, outcomes) {
            switch outcome {
            case .updated: done.append(job.function)
            case .notAttempted: rest.append(job.function)
            case .failed(let failure): failures.append((job, failure))
            }
        }
        guard !failures.isEmpty else { return nil }
        var diagnostics: [Diagnostic] = []
        for (index, (job, failure)) in failures.enumerated() {
            var message = "deploying function '\(job.function)' to Lambda '\(job.target.name)' (\(job.region)) failed: \(redactor.scrub(failure.message))."
            if index == failures.count - 1 {
                message += done.isEmpty ? " No function was updated" : " Already updated: \(done.joined(separator: ", "))"
                if !rest.isEmpty { message += "; not attempted: \(rest.joined(separator: ", "))" }
                message += ". A rerun is safe."
            }
            diagnostics.append(.error(message, at: job.target.location))
        }
        let kind: FailureKind =
            failures.allSatisfy { $0.1.unwritable } ? .unwritableValue
            : failures.allSatisfy { $0.1.kind == .configuration } ? .badInput : .storeFailure
        return InjectSecretsError(kind, diagnostics)
    }
}
