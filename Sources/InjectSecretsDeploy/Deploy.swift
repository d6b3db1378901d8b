import Foundation
import InjectSecretsAWS
import InjectSecretsCore
import InjectSecretsKit

/// What `deploy` did.
package struct DeployReport: Sendable {
    package struct Function: Sendable {
        package var function: String
        package var lambda: String
        package var region: String
        package var arn: String
        /// The variable names set (never their values), sorted.
        package var variables: [String]
        package var mode: String
        package var digest: String
    }

    package var environment: String?
    package var updated: [Function]
}

/// The tag `deploy` sets and `drift --deployed` reads.
package enum DeploymentTag {
    package static let key = "inject-secrets:lock-digest"

    /// A digest of the lock entries a function is rendered from: its name, the environment, and per
    /// secret the provider, type, id, policy, locator and locked version, except the version of a secret the
    /// function only follows (`${ref.NAME:current}`): its environment does not depend on it, so a rotation
    /// leaves the digest as it is. Nothing from a value goes in.
    package static func digest(_ function: FunctionDefinition, environment: String?, section: LockFile.Section) -> String {
        digest(function.name, environment: environment, section: section, following: function.followedSecretNames)
    }

    /// The digests `drift --deployed` takes as current for `function`: its own and, when it follows a
    /// secret, the one deploy wrote before followed versions left the digest (every version in). A Lambda
    /// deployed by an earlier inject-secrets so stays current until the lock's version moves.
    package static func accepted(_ function: FunctionDefinition, environment: String?, section: LockFile.Section) -> [String] {
        let following = function.followedSecretNames
        let own = digest(function.name, environment: environment, section: section, following: following)
        return following.isEmpty ? [own] : [own, digest(function.name, environment: environment, section: section, following: [])]
    }

    static func digest(_ function: String, environment: String?, section: LockFile.Section, following: Set<String>) -> String {
        var text = "inject-secrets lock digest 1\nfunction \(function)\nenvironment \(environment ?? "")\n"
        for name in (section.functions[function]?.secrets ?? []).sorted() {
            guard let entry = section.secrets[name] else {
                text += "secret \(name) unlocked\n"
                continue
            }
            // A followed secret's line has its own prefix (the others start with a digit), so the two
            // kinds of line can never be taken for each other.
            let follows = following.contains(name)
            let fields = [name, entry.provider, entry.type, entry.id, entry.policy] + (follows ? [] : [entry.version]) + [entry.locator ?? ""]
            text += (follows ? "follows " : "") + fields.map { "\($0.utf8.count):\($0)" }.joined(separator: " ") + "\n"
        }
        return "sha256:" + SHA256.hash(Data(text.utf8)).lowercaseHex
    }
}

extension InjectSecrets {
    /// The functions of the run that have a `lambda:` target, with their targets; a `--function` naming
    /// one without a target is bad input.
    func lambdaTargets(_ workspace: Workspace) throws -> [(FunctionDefinition, LambdaTarget)] {
        var targets: [(FunctionDefinition, LambdaTarget)] = []
        var diagnostics = DiagnosticCollector()
        for function in workspace.functions {
            guard let node = function.lambdaNode else {
                if !workspace.options.functions.isEmpty {
                    diagnostics.error("function '\(function.name)' has no 'lambda:' target to deploy to; add 'lambda: { name: ... }' to it", at: function.location)
                }
                continue
            }
            targets.append((function, try LambdaTarget.parse(node, function: function.name)))
        }
        try diagnostics.throwIfErrors()
        if targets.isEmpty {
            throw InjectSecretsError.badInput("no function in \(workspace.options.displayPath) has a 'lambda:' target; add 'lambda: { name: ... }' to the functions to deploy")
        }
        return targets
    }

    func region(of target: LambdaTarget, environment: [String: String]) throws -> String {
        if let region = target.region ?? target.arnRegion { return region }
        if let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"], !region.isEmpty { return region }
        throw InjectSecretsError.badInput(
            "function '\(target.function)': no region for its Lambda; set 'region:' under 'lambda:', or AWS_REGION", at: target.location)
    }

    /// Every function's environment rendered in memory from the lock's versions, as `deploy` sets it and
    /// `drift --deployed --verify` compares it; the workspace's providers are finished either way.
    func lockedEnvironments(_ workspace: Workspace) async throws -> Resolution {
        do {
            let resolution = try await resolve(workspace, locked: true, for: .deploy)
            await workspace.finish()
            try resolution.throwIfErrors()
            return resolution
        } catch {
            await workspace.finish()
            throw error
        }
    }

    /// Sets each selected function's Lambda environment to the one rendered from the lock's versions,
    /// waits until Lambda reports the update Successful, and tags the function with the digest of the
    /// lock entries it came from. Functions go in parallel within `pacing`; a failure names those
    /// already updated (a rerun is safe: it sets the same environment and tag again).
    package func deploy(_ options: RunOptions, pacing: LambdaPacing = LambdaPacing(), waitLimit: TimeInterval = 120) async throws -> DeployReport {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await deploy(options, pacing: pacing, waitLimit: waitLimit) }
        }
        let workspace = try Workspace.open(options, registry: registry, exclusive: true)
        let targets = try lambdaTargets(workspace)
        var clients: [String: LambdaClient] = [:]
        for (_, target) in targets {
            let region = try region(of: target, environment: options.processEnvironment)
            if clients[region] == nil { clients[region] = try LambdaClient(region: region, environment: options.processEnvironment, pacing: pacing) }
        }
        // The locked versions: what is deployed is what the lock (and drift) says.
        let resolution = try await lockedEnvironments(workspace)
        var sizeProblems = DiagnosticCollector()
        for (function, target) in targets where target.variables == .replace {
            if let problem = LambdaEnvironmentRules.sizeProblem(resolution.environments[function.name] ?? [:], function: function.name) {
                sizeProblems.error(problem, at: target.location)
            }
        }
        try resolution.throwIfUnwritable(sizeProblems, nothing: "no Lambda function was updated")

        let section = workspace.lockSection
        let jobs = try targets.map { function, target in
            let region = try region(of: target, environment: options.processEnvironment)
            return LambdaDeployJob(
                function: function.name, target: target, region: region, client: clients[region]!,
                variables: resolution.environments[function.name] ?? [:], redactor: workspace.redactor,
                digest: DeploymentTag.digest(function, environment: workspace.manifest.environment, section: section))
        }
        let outcomes = await LambdaDeployJob.runAll(jobs, concurrency: pacing.concurrency, waitLimit: waitLimit)
        if let error = LambdaDeployJob.failureError(jobs, outcomes, redactor: workspace.redactor) { throw error }
        var report = DeployReport(environment: workspace.manifest.environment, updated: [])
        for case .updated(let function) in outcomes { report.updated.append(function) }
        return report
    }

    /// `drift --deployed`: compares each Lambda's digest tag with the digest of the lock entries now.
    /// Reads tags only (GetResources, else ListTags), never a function's environment.
    package func deployedDrift(_ options: RunOptions, pacing: LambdaPacing = LambdaPacing()) async throws -> DriftReport {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await deployedDrift(options, pacing: pacing) }
        }
        let workspace = try Workspace.open(options, registry: registry)
        let targets = try lambdaTargets(workspace)
        let section = workspace.lockSection
        var regions: [String] = []
        var byRegion: [String: [(FunctionDefinition, LambdaTarget)]] = [:]
        for (function, target) in targets {
            let region = try region(of: target, environment: options.processEnvironment)
            if byRegion[region] == nil { regions.append(region) }
            byRegion[region, default: []].append((function, target))
        }
        var entries: [DriftReport.Entry] = []
        var failures: [Diagnostic] = []
        var notes: [String] = []
        for region in regions {
            let members = byRegion[region]!
            let accepted = members.map { DeploymentTag.accepted($0.0, environment: workspace.manifest.environment, section: section) }
            let client = try LambdaClient(region: region, environment: options.processEnvironment, pacing: pacing)
            let (reads, denied) = await client.deploymentTags(
                of: members.map(\.1.name), key: DeploymentTag.key, accepted: accepted, concurrency: pacing.concurrency)
            if denied {
                notes.append("tag:GetResources was denied in \(region); read the tags with one ListTags per function instead (allow tag:GetResources for one call per 100 functions)")
            }
            for ((function, target), (read, accepted)) in zip(members, zip(reads, accepted)) {
                let lambda = "Lambda '\(target.name)' (\(region)) of function '\(function.name)'"
                var entry: DriftReport.Entry
                switch read {
                case .tagged(let deployed) where accepted.contains(deployed):
                    continue
                case .tagged:
                    entry = DriftReport.Entry(
                        kind: .deployedStale, functions: [function.name],
                        message: "\(lambda) was deployed from other lock entries than the lock's now; run deploy")
                case .untagged:
                    entry = DriftReport.Entry(
                        kind: .deployedUnknown, functions: [function.name],
                        message: "\(lambda) has no \(DeploymentTag.key) tag: it was not deployed by inject-secrets deploy; run deploy")
                case .missing:
                    entry = DriftReport.Entry(
                        kind: .deployedUnknown, functions: [function.name],
                        message: "\(lambda) does not exist; run deploy after creating it")
                case .failed(let failure):
                    failures.append(.error("function '\(function.name)': reading the tags of Lambda '\(target.name)' (\(region)) failed: \(failure.message)", at: target.location))
                    continue
                }
                entry.location = target.location
                entries.append(entry)
            }
        }
        if !failures.isEmpty { throw InjectSecretsError(.storeFailure, failures) }
        var report = DriftReport(environment: workspace.manifest.environment, entries: entries, notes: notes)
        report.checkedDeployments = targets.map(\.0.name)
        return report
    }
}
