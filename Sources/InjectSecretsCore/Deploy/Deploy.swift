import Foundation

/// What `deploy` did.
public struct DeployReport: Sendable {
    public struct Function: Sendable {
        public var function: String
        public var lambda: String
        public var region: String
        public var arn: String
        /// The variable names set (never their values), sorted.
        public var variables: [String]
        public var mode: String
        public var digest: String
    }

    public var environment: String?
    public var updated: [Function]
}

/// The tag `deploy` sets and `drift --deployed` reads.
public enum DeploymentTag {
    public static let key = "inject-secrets:lock-digest"

    /// A digest of the lock entries a function is rendered from: its name, the environment, and per
    /// secret the provider, type, id, policy and locked version. Nothing from a value goes in.
    public static func digest(function: String, environment: String?, section: LockFile.Section) -> String {
        var text = "inject-secrets lock digest 1\nfunction \(function)\nenvironment \(environment ?? "")\n"
        for name in (section.functions[function]?.secrets ?? []).sorted() {
            guard let entry = section.secrets[name] else {
                text += "secret \(name) unlocked\n"
                continue
            }
            text += [name, entry.provider, entry.type, entry.id, entry.policy, entry.version, entry.locator ?? ""]
                .map { "\($0.utf8.count):\($0)" }.joined(separator: " ") + "\n"
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

    /// Sets each selected function's Lambda environment to the one rendered from the lock's versions,
    /// waits until Lambda reports the update Successful, and tags the function with the digest of the
    /// lock entries it came from. Functions go one at a time; a failure names those already updated
    /// (a rerun is safe: it sets the same environment and tag again).
    public func deploy(_ options: RunOptions, waitLimit: TimeInterval = 120) async throws -> DeployReport {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await deploy(options, waitLimit: waitLimit) }
        }
        let workspace = try Workspace.open(options, registry: registry, exclusive: true)
        let targets = try lambdaTargets(workspace)
        var clients: [String: LambdaClient] = [:]
        for (_, target) in targets {
            let region = try region(of: target, environment: options.processEnvironment)
            if clients[region] == nil { clients[region] = try LambdaClient(region: region, environment: options.processEnvironment) }
        }
        // The locked versions: what is deployed is what the lock (and drift) says.
        let resolution: Resolution
        do {
            resolution = try await resolve(workspace, locked: true, for: .deploy)
            await workspace.finish()
            try resolution.throwIfErrors()
        } catch {
            await workspace.finish()
            throw error
        }
        var sizeProblems = DiagnosticCollector()
        for (function, target) in targets where target.variables == .replace {
            if let problem = LambdaEnvironmentRules.sizeProblem(resolution.environments[function.name] ?? [:], function: function.name) {
                sizeProblems.error(problem, at: target.location)
            }
        }
        try resolution.throwIfUnwritable(sizeProblems, nothing: "no Lambda function was updated")

        let section = workspace.lockSection
        var report = DeployReport(environment: workspace.manifest.environment, updated: [])
        for (function, target) in targets {
            let region = try region(of: target, environment: options.processEnvironment)
            let client = clients[region]!
            let digest = DeploymentTag.digest(function: function.name, environment: workspace.manifest.environment, section: section)
            do {
                var variables = resolution.environments[function.name] ?? [:]
                if target.variables == .merge {
                    let existing = try await client.configuration(of: target.name, withVariables: true).variables ?? [:]
                    variables = existing.merging(variables) { _, rendered in rendered }
                    if let problem = LambdaEnvironmentRules.sizeProblem(variables, function: function.name) {
                        throw LambdaClient.Failure(code: nil, status: nil, message: problem + " (merged with the variables already set)", kind: .configuration, unwritable: true)
                    }
                }
                var configuration = try await client.updateEnvironment(of: target.name, to: variables)
                let deadline = Date().addingTimeInterval(waitLimit)
                while configuration.lastUpdateStatus != "Successful" {
                    if configuration.lastUpdateStatus == "Failed" {
                        throw LambdaClient.Failure(
                            code: nil, status: nil,
                            message: "Lambda reports the update Failed: \(configuration.lastUpdateStatusReason.map(RelayedText.line) ?? "no reason given")", kind: .invalidResponse)
                    }
                    if Date() > deadline {
                        throw LambdaClient.Failure(
                            code: nil, status: nil,
                            message: "the update is still \(configuration.lastUpdateStatus ?? "pending") after \(Int(waitLimit)) s", kind: .unreachable)
                    }
                    try? await Task.sleep(nanoseconds: 1_000_000_000)
                    configuration = try await client.configuration(of: target.name)
                }
                guard let arn = configuration.arn else {
                    throw LambdaClient.Failure(code: nil, status: nil, message: "Lambda gave no FunctionArn", kind: .invalidResponse)
                }
                try await client.tag(arn, [DeploymentTag.key: digest])
                report.updated.append(DeployReport.Function(
                    function: function.name, lambda: target.name, region: region, arn: arn, variables: variables.keys.sorted(),
                    mode: target.variables.rawValue, digest: digest))
            } catch let failure as LambdaClient.Failure {
                let done = report.updated.map(\.function)
                let rest = targets.map(\.0.name).drop { $0 != function.name }.dropFirst()
                var message = "deploying function '\(function.name)' to Lambda '\(target.name)' (\(region)) failed: \(workspace.redactor.scrub(failure.message)). "
                message += done.isEmpty ? "No function was updated" : "Already updated: \(done.joined(separator: ", "))"
                if !rest.isEmpty { message += "; not attempted: \(rest.joined(separator: ", "))" }
                message += ". A rerun is safe."
                throw InjectSecretsError(
                    failure.unwritable ? .unwritableValue : failure.kind == .configuration ? .badInput : .storeFailure,
                    [.error(message, at: target.location)])
            }
        }
        return report
    }

    /// `drift --deployed`: compares each Lambda's digest tag with the digest of the lock entries now.
    /// Reads tags only (ListTags), never a function's environment.
    public func deployedDrift(_ options: RunOptions) async throws -> DriftReport {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await deployedDrift(options) }
        }
        let workspace = try Workspace.open(options, registry: registry)
        let targets = try lambdaTargets(workspace)
        let section = workspace.lockSection
        var accounts: [String: String] = [:]
        var entries: [DriftReport.Entry] = []
        var failures: [Diagnostic] = []
        for (function, target) in targets {
            let region = try region(of: target, environment: options.processEnvironment)
            let expected = DeploymentTag.digest(function: function.name, environment: workspace.manifest.environment, section: section)
            do {
                let client = try LambdaClient(region: region, environment: options.processEnvironment)
                var arn = target.name
                if !arn.hasPrefix("arn:") {
                    if accounts[region] == nil { accounts[region] = try await client.account() }
                    arn = client.arn(of: target.name, account: accounts[region]!)
                }
                let tags: [String: String]
                do {
                    tags = try await client.tags(of: arn)
                } catch let failure as LambdaClient.Failure where failure.code == "ResourceNotFoundException" {
                    var entry = DriftReport.Entry(
                        kind: .deployedUnknown, functions: [function.name],
                        message: "Lambda '\(target.name)' (\(region)) of function '\(function.name)' does not exist; run deploy after creating it")
                    entry.location = target.location
                    entries.append(entry)
                    continue
                }
                guard let deployed = tags[DeploymentTag.key] else {
                    var entry = DriftReport.Entry(
                        kind: .deployedUnknown, functions: [function.name],
                        message: "Lambda '\(target.name)' (\(region)) of function '\(function.name)' has no \(DeploymentTag.key) tag: it was not deployed by inject-secrets deploy; run deploy")
                    entry.location = target.location
                    entries.append(entry)
                    continue
                }
                if deployed != expected {
                    var entry = DriftReport.Entry(
                        kind: .deployedStale, functions: [function.name],
                        message: "Lambda '\(target.name)' (\(region)) of function '\(function.name)' was deployed from other lock entries than the lock's now; run deploy")
                    entry.location = target.location
                    entries.append(entry)
                }
            } catch let failure as LambdaClient.Failure {
                failures.append(.error("function '\(function.name)': reading the tags of Lambda '\(target.name)' (\(region)) failed: \(failure.message)", at: target.location))
            }
        }
        if !failures.isEmpty { throw InjectSecretsError(.storeFailure, failures) }
        var report = DriftReport(environment: workspace.manifest.environment, entries: entries, notes: [])
        report.checkedDeployments = targets.map(\.0.name)
        return report
    }
}
