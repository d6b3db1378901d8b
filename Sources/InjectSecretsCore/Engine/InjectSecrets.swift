import Foundation
import InjectSecretsKit

/// The operations of the tool, for the executable (and tests) to call. Prints nothing and never exits:
/// failures are `InjectSecretsError`s carrying their exit-code kind and located diagnostics.
package struct InjectSecrets: Sendable {
    package var registry: ProviderRegistry

    package init(registry: ProviderRegistry) {
        self.registry = registry
    }

    // MARK: validate

    /// Checks the manifest (the base and every environment) and the lock, offline.
    package func validate(_ options: RunOptions) throws -> ValidationReport {
        var loader = ManifestLoader(registry: registry, processEnvironment: options.processEnvironment)
        loader.allowOutsideOutputPaths = options.allowOutsideOutputPaths
        let manifests = try loader.validateAll(at: options.manifestURL, displayPath: options.displayPath)
        let base = manifests[0]
        let lockDisplay = (options.displayPath as NSString).deletingLastPathComponent
        let lock = try LockFile.read(at: base.lockURL, displayPath: lockDisplay.isEmpty ? "inject-secrets.lock" : lockDisplay + "/inject-secrets.lock")
        var report = ValidationReport(
            manifest: options.displayPath, environments: base.environmentNames, functions: base.functions.count,
            secrets: base.secrets.count, lockChecked: lock != nil)
        report.secretNames = Array(Set(manifests.flatMap(\.secrets.keys))).sorted()
        report.manifests = manifests
        return report
    }

    // MARK: render

    /// Reads every secret the selected functions need (the locked versions with `locked`), renders every
    /// output in memory, then writes them all, the lock and the render record. Nothing is written when
    /// anything fails.
    package func render(_ options: RunOptions, locked: Bool = false) async throws -> RenderReport {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await render(options, locked: locked) }
        }
        let workspace = try Workspace.open(options, registry: registry, exclusive: true)
        do {
            let report = try await render(workspace, locked: locked)
            await workspace.finish()
            if let signal = options.interruption.signal {
                throw InjectSecretsError.interrupted(signal, "the signal came once the commit had begun, so it was completed: outputs, lock and render record are all new")
            }
            return report
        } catch let stopped as Interruption.Stopped {
            await workspace.finish()
            throw InjectSecretsError.interrupted(stopped.signal, "no output, lock or render record was changed")
        } catch {
            await workspace.finish()
            if let signal = options.interruption.signal, (error as? InjectSecretsError)?.kind != .interrupted(signal: signal) {
                throw InjectSecretsError.interrupted(signal, "no output, lock or render record was changed")
            }
            throw error
        }
    }

    /// What one run resolved in memory: the references (with `--locked` applied), the versions settled
    /// for them, the values read (only for secrets some function renders by value), and each fully
    /// evaluated function's environment. Template failures are collected, not thrown, so that render can
    /// add its own output errors and report every problem at once.
    package struct Resolution {
        var references: [String: SecretReference]
        /// Every secret of the run: read with its value or, used only through `${ref.*}`, from metadata.
        var versions: [String: SettledVersion]
        var secrets: [String: FetchedSecret]
        /// Function name -> its environment, for the functions whose every variable evaluated.
        package var environments: [String: [String: String]]
        var badInput = DiagnosticCollector()
        var storeMismatch = DiagnosticCollector()

        /// Throws the collected template failures: a store answer that does not fit (exit 3) first.
        package func throwIfErrors() throws {
            if storeMismatch.hasErrors {
                throw InjectSecretsError(.storeFailure, storeMismatch.diagnostics + badInput.diagnostics)
            }
            try badInput.throwIfErrors()
        }

        /// Throws `problems` (values that cannot go where they must) as exit 4, with a last line saying
        /// what was read and that `nothing` happened.
        package func throwIfUnwritable(_ problems: DiagnosticCollector, nothing: String) throws {
            guard problems.hasErrors else { return }
            let read = versions.keys.sorted().map { "\($0) (version \(versions[$0]!.version))" }.joined(separator: ", ")
            throw InjectSecretsError(
                .unwritableValue,
                problems.diagnostics.sorted(by: DiagnosticCollector.fileOrder)
                    + [.error("every secret was read (\(read)), but a value cannot be written where it must go; \(nothing)")])
        }
    }

    /// Reads every secret the workspace's functions render by value (the locked versions with `locked`),
    /// settles the versions of those used only through `${ref.*}` from metadata, and evaluates every
    /// function's `env` in memory. Writes nothing. Shared by `render`, `exec` and `deploy`.
    /// `checkingOutputs` checks where the outputs would go (render); exec and deploy write none.
    package func resolve(
        _ workspace: Workspace, locked: Bool, checkingOutputs: Bool = false, for operation: AuditRecord.Operation = .render
    ) async throws -> Resolution {
        try workspace.checkEnvironmentReferences()
        if checkingOutputs {
            try OutputPlacement.check(
                workspace.functions.flatMap { function in function.outputs.map { OutputPlacement.Target(function: function.name, output: $0) } },
                manifest: workspace.manifest, options: workspace.options)
        }
        try workspace.options.interruption.check()
        var references = workspace.references
        if locked {
            var diagnostics = DiagnosticCollector()
            for name in references.keys.sorted() {
                guard let entry = workspace.lockedEntry(name) else {
                    let users = workspace.functions(using: name).joined(separator: ", ")
                    diagnostics.error(
                        "secret '\(name)' (used by \(users)) is not in the lock, or its declaration changed since the lock was written; run 'render' without --locked to lock it",
                        at: workspace.declaration(name).location)
                    continue
                }
                references[name]!.policy = .version(entry.version)
            }
            try diagnostics.throwIfErrors()
        }

        let valueNames = RenderStages.valueNames(workspace.functions)
        let results = try await workspace.fetch(references.filter { valueNames.contains($0.key) }, for: operation)
        try workspace.options.interruption.check()
        let referenceOnly = references.filter { !valueNames.contains($0.key) }
        let settled = referenceOnly.isEmpty
            ? [:]
            : RenderStages.settle(
                try await workspace.inspect(RenderStages.referenceQueries(referenceOnly), for: operation),
                policies: referenceOnly.mapValues(\.policy))
        try workspace.options.interruption.check()
        var failures: [Diagnostic] = []
        var secrets: [String: FetchedSecret] = [:]
        var versions: [String: SettledVersion] = [:]
        for (name, result) in results.sorted(by: { $0.key < $1.key }) {
            switch result {
            case .success(let secret):
                secrets[name] = secret
                versions[name] = SettledVersion(version: secret.version, locator: secret.locator)
            case .failure(let failure):
                failures.append(.storeFailure(failure, secret: name, provider: workspace.declaration(name).providerName))
            }
        }
        for (name, result) in settled.sorted(by: { $0.key < $1.key }) {
            switch result {
            case .success(let version): versions[name] = version
            case .failure(let failure):
                failures.append(.storeFailure(failure, secret: name, provider: workspace.declaration(name).providerName))
            }
        }
        if !failures.isEmpty { throw InjectSecretsError(.storeFailure, failures) }
        let runtime = RenderStages.runtimeReferences(
            workspace.functions, versions: versions, declarations: workspace.manifest.secrets, registry: registry)
        if !runtime.failures.isEmpty { throw InjectSecretsError(.storeFailure, runtime.failures) }

        let evaluated = RenderStages.evaluate(
            workspace.functions, vars: workspace.manifest.vars, environment: workspace.options.processEnvironment,
            secrets: secrets, runtimeReferences: runtime.texts)
        return Resolution(
            references: references, versions: versions, secrets: secrets, environments: evaluated.environments,
            badInput: evaluated.badInput, storeMismatch: evaluated.storeMismatch)
    }

    private func render(_ workspace: Workspace, locked: Bool) async throws -> RenderReport {
        let manifest = workspace.manifest
        // The render record is read while the stores are, and updated after the outputs are written.
        let recordURL = manifest.outputDirectory.appendingPathComponent(RenderRecord.fileName)
        let recordDisplay = manifest.relativePath(recordURL)
        let previousRecord = ReadAhead { try RenderRecord.read(at: recordURL, displayPath: recordDisplay) }
        let resolution = try await resolve(workspace, locked: locked, checkingOutputs: true)
        try resolution.throwIfErrors()

        // Everything is rendered in memory before the first byte is written.
        let encoded = try RenderStages.encode(workspace.functions, environments: resolution.environments)
        try resolution.throwIfUnwritable(encoded.unwritable, nothing: "nothing was written: no output, lock or render record changed")
        try workspace.options.interruption.check()

        let next = RenderStages.nextLockSection(
            previous: workspace.lockSection, fullRun: workspace.options.functions.isEmpty, functions: workspace.functions,
            references: resolution.references, versions: resolution.versions, declarations: manifest.secrets)
        var pending = encoded.files
        var lock = workspace.lock ?? LockFile()
        lock.setSection(next.section, for: manifest.environment)
        let lockChanged = !locked && lock != workspace.lock
        if lockChanged { pending.append(PendingFile(url: manifest.lockURL, data: lock.encoded(), mode: 0o644)) }

        // The render record, for drift on outputs: it holds each output's identity as written, so it is
        // computed once the outputs are in place, within the same commit as them and the lock.
        let previous = try previousRecord.value() ?? RenderRecord()
        let planned = encoded.planned, versions = resolution.versions, environment = manifest.environment
        let late: OutputWriter.LateFiles = ([(recordURL, 0o600)], { identity in
            let record = RenderStages.nextRecord(
                previous: previous, planned: planned, versions: versions, environment: environment, identity: identity)
            return [recordURL: record.encoded()]
        })
        let outcomes = try OutputWriter.write(
            pending, root: workspace.root, allowOutside: workspace.options.allowOutsideOutputPaths, late: late,
            interruption: workspace.options.interruption)
        let reportOutputs = planned.map { function, output in
            RenderReport.Output(
                function: function.name, path: output.path, format: output.format.rawValue,
                written: outcomes[output.url] == .written)
        }

        return RenderReport(
            environment: manifest.environment, locked: locked, outputs: reportOutputs, secrets: next.secrets,
            lockPath: manifest.relativePath(manifest.lockURL), lockChanged: lockChanged)
    }

    // MARK: exec

    /// Resolves the environments of the selected functions exactly as `render` would (the locked versions
    /// with `locked`), all or nothing, and returns them in memory: nothing is written, no output, no lock,
    /// no render record. For `exec`, which hands them to a child process.
    package func resolveEnvironments(_ options: RunOptions, locked: Bool = false) async throws -> ResolvedEnvironments {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await resolveEnvironments(options, locked: locked) }
        }
        let workspace = try Workspace.open(options, registry: registry)
        do {
            let resolution = try await resolve(workspace, locked: locked, for: .exec)
            await workspace.finish()
            try resolution.throwIfErrors()
            // Render refuses a NUL for the environment formats; a process environment cannot hold one
            // either (execve would cut the value there), so exec refuses it the same way.
            var unwritable = DiagnosticCollector()
            for function in workspace.functions {
                for variable in function.variables {
                    if let value = resolution.environments[function.name]?[variable.key], let problem = EnvironmentNames.nulProblem(value) {
                        unwritable.error("variable '\(variable.key)' of function '\(function.name)': \(problem)", at: variable.location)
                    }
                }
            }
            try resolution.throwIfUnwritable(unwritable, nothing: "the command was not run")
            return ResolvedEnvironments(
                environment: workspace.manifest.environment, functions: resolution.environments,
                versions: resolution.versions.mapValues(\.version))
        } catch {
            await workspace.finish()
            throw error
        }
    }

    // MARK: render --dry-run

    /// What a render would change, from the stores' metadata: no value is read and nothing is written.
    package func plan(_ options: RunOptions, locked: Bool = false) async throws -> RenderPlan {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await plan(options, locked: locked) }
        }
        let workspace = try Workspace.open(options, registry: registry)
        try workspace.checkEnvironmentReferences()
        var queries: [String: VersionQuery] = [:]
        var diagnostics = DiagnosticCollector()
        for (name, reference) in workspace.references {
            let entry = workspace.lockedEntry(name)
            var reference = reference
            if locked {
                guard let entry else {
                    diagnostics.error("secret '\(name)' is not in the lock, or its declaration changed; run 'render' without --locked to lock it", at: workspace.declaration(name).location)
                    continue
                }
                reference.policy = .version(entry.version)
            }
            queries[name] = VersionQuery(reference: reference, lockedVersion: entry?.version)
        }
        try diagnostics.throwIfErrors()
        let answers: [String: Result<VersionStatus, ProviderFailure>]
        do {
            answers = try await workspace.inspect(queries, for: .plan)
        } catch {
            await workspace.finish()
            throw error
        }
        await workspace.finish()

        var failures: [Diagnostic] = []
        var changes: [RenderPlan.SecretChange] = []
        var changed: Set<String> = []
        for name in answers.keys.sorted() {
            switch answers[name]! {
            case .failure(let failure):
                failures.append(.storeFailure(failure, secret: name, provider: workspace.declaration(name).providerName))
            case .success(let status):
                let lockedVersion = queries[name]!.lockedVersion
                if status.selected == nil {
                    failures.append(.storeFailure(
                        ProviderFailure(
                            .versionNotFound, "the policy '\(workspace.declaration(name).policy)' selects no version in the store",
                            operation: .inspect, path: queries[name]!.reference.id),
                        secret: name, provider: workspace.declaration(name).providerName))
                    continue
                }
                if status.selected != lockedVersion { changed.insert(name) }
                changes.append(RenderPlan.SecretChange(
                    name: name, provider: workspace.declaration(name).providerName, id: queries[name]!.reference.id,
                    locked: lockedVersion, selected: status.selected, functions: workspace.functions(using: name), notes: status.notes))
            }
        }
        if !failures.isEmpty { throw InjectSecretsError(.storeFailure, failures) }

        var functionChanges: [RenderPlan.FunctionChange] = []
        var unchanged: [String] = []
        for function in workspace.functions {
            let secrets = function.secretNames.filter(changed.contains)
            let variables = function.variables.filter { !Set($0.template.secretNames).isDisjoint(with: secrets) }.map(\.key)
            let newOutputs = function.outputs.filter { !FileManager.default.fileExists(atPath: $0.url.path) }.map(\.path)
            if secrets.isEmpty && newOutputs.isEmpty {
                unchanged.append(function.name)
            } else {
                functionChanges.append(RenderPlan.FunctionChange(function: function.name, variables: variables, secrets: secrets, newOutputs: newOutputs))
            }
        }
        return RenderPlan(environment: workspace.manifest.environment, secrets: changes, functions: functionChanges, unchanged: unchanged)
    }
}
