import Foundation
import InjectSecretsAWS
import InjectSecretsCore
import InjectSecretsKit

extension InjectSecrets {
    /// `drift --deployed --verify`: reads each Lambda's live environment (GetFunctionConfiguration) and
    /// compares it, in memory, with the one rendered from the lock's versions. A difference is
    /// `deployed-modified`, naming the variables added, removed or changed: names only, never a value
    /// nor anything derived from one. It reads values (the locked ones and the live ones), so it needs
    /// what `deploy` needs; the tag-only check (`deployedDrift`) stays value-free.
    package func verifyDeployed(_ options: RunOptions, pacing: LambdaPacing = LambdaPacing()) async throws -> DriftReport {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await verifyDeployed(options, pacing: pacing) }
        }
        let workspace = try Workspace.open(options, registry: registry)
        let targets = try lambdaTargets(workspace)
        let resolution = try await lockedEnvironments(workspace)
        var clients: [String: LambdaClient] = [:]
        var jobs: [(function: FunctionDefinition, target: LambdaTarget, region: String)] = []
        for (function, target) in targets {
            let region = try region(of: target, environment: options.processEnvironment)
            if clients[region] == nil { clients[region] = try LambdaClient(region: region, environment: options.processEnvironment, pacing: pacing) }
            jobs.append((function, target, region))
        }
        let known = clients
        let redactor = workspace.redactor
        let reads = await boundedConcurrentMap(jobs, limit: pacing.concurrency) { job -> Result<[String: String]?, LambdaClient.Failure> in
            do {
                let live = try await known[job.region]!.configuration(of: job.target.name, withVariables: true).variables ?? [:]
                redactor.remember(live.values)
                return .success(live)
            } catch let failure as LambdaClient.Failure where failure.code == "ResourceNotFoundException" {
                return .success(nil)  // the tag check reports a missing function
            } catch let failure as LambdaClient.Failure {
                return .failure(failure)
            } catch {
                return .failure(LambdaClient.Failure(code: nil, status: nil, message: "\(type(of: error))", kind: .unreachable))
            }
        }
        var entries: [DriftReport.Entry] = []
        var failures: [Diagnostic] = []
        for (job, read) in zip(jobs, reads) {
            let lambda = "Lambda '\(job.target.name)' (\(job.region)) of function '\(job.function.name)'"
            switch read {
            case .failure(let failure):
                failures.append(.error(
                    "function '\(job.function.name)': reading the configuration of Lambda '\(job.target.name)' (\(job.region)) failed: \(redactor.scrub(failure.message))",
                    at: job.target.location))
            case .success(nil):
                continue
            case .success(let live?):
                let rendered = resolution.environments[job.function.name] ?? [:]
                let difference = EnvironmentDifference(rendered: rendered, live: live, mergesExisting: job.target.variables == .merge)
                guard !difference.isEmpty else { continue }
                var entry = DriftReport.Entry(
                    kind: .deployedModified, functions: [job.function.name],
                    message: "\(lambda) was changed since deploy: \(difference.description); run deploy")
                entry.location = job.target.location
                entries.append(entry)
            }
        }
        if !failures.isEmpty { throw InjectSecretsError(.storeFailure, failures) }
        var report = DriftReport(environment: workspace.manifest.environment, entries: entries, notes: [])
        report.checkedDeployments = targets.map(\.0.name)
        return report
    }
}

/// Which variable names differ between the environment rendered from the lock and a Lambda's live one.
/// Holds names only: the values are compared and dropped.
struct EnvironmentDifference: Equatable {
    var added: [String]
    var removed: [String]
    var changed: [String]

    /// With `mergesExisting` (`variables: merge`), variables deploy did not set are the function's own,
    /// not additions.
    init(rendered: [String: String], live: [String: String], mergesExisting: Bool) {
        added = mergesExisting ? [] : live.keys.filter { rendered[$0] == nil }.sorted()
        removed = rendered.keys.filter { live[$0] == nil }.sorted()
        changed = rendered.keys.filter { live[$0] != nil && live[$0] != rendered[$0] }.sorted()
    }

    var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    var description: String {
        [("added", added), ("removed", removed), ("changed", changed)]
            .filter { !$0.1.isEmpty }.map { "\($0.0) \($0.1.joined(separator: ", "))" }.joined(separator: "; ")
    }
}
