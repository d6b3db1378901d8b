import Foundation
import InjectSecretsKit

/// A manifest opened for one run: the selected functions, the secrets they need with their ids
/// expanded, the lock, and the providers. Opening contacts no store.
package struct Workspace: Sendable {
    package let options: RunOptions
    package let manifest: Manifest
    /// The functions of this run (`--function`, else all), sorted.
    package let functions: [FunctionDefinition]
    let lock: LockFile?
    package var lockSection: LockFile.Section { lock?.section(for: manifest.environment) ?? LockFile.Section() }
    /// Every secret the selected functions read, by name, with its id expanded and its declared policy.
    let references: [String: SecretReference]
    let providers: [String: any SecretProvider]
    /// `--audit-log`: opened before any store is contacted.
    let audit: AuditLog?
    /// The values read and credentials used in this run, removed from every store failure's message.
    package let redactor: RunRedactor
    /// The manifest's folder, where every write's walk starts.
    let root: DirectoryHandle
    /// Held for the whole run by the commands that write or recover (`exclusive`).
    let runLock: RunLock?

    /// Opens the manifest and the lock; `makeProviders: false` (for `policy`) builds no provider and
    /// opens no audit log. `exclusive` (render, drift, deploy) first takes the run lock and finishes or
    /// undoes a commit an interrupted run left, so the lock read is the one the last commit wrote.
    /// `inspectingLocked` (drift, which inspects every locked secret) tells each provider the ids of its
    /// locked secrets as soon as the manifest has passed its checks (`willInspect`).
    package static func open(
        _ options: RunOptions, registry: ProviderRegistry, makeProviders: Bool = true, exclusive: Bool = false,
        inspectingLocked: Bool = false
    ) throws -> Workspace {
        let lockDisplay = (options.displayPath as NSString).deletingLastPathComponent
        let lockDisplayPath = lockDisplay.isEmpty ? "inject-secrets.lock" : lockDisplay + "/inject-secrets.lock"
        let root = try OutputWriter.open(options.manifestURL.deletingLastPathComponent())
        let runLock = exclusive ? try takeRunLock(options, root: root) : nil
        // The lock sits beside the manifest: it is parsed while the manifest is.
        let expectedLockURL = Manifest.lockURL(inFolder: options.manifestURL.deletingLastPathComponent())
        let lockAhead = ReadAhead { try LockFile.read(at: expectedLockURL, displayPath: lockDisplayPath) }

        var loader = ManifestLoader(registry: registry, processEnvironment: options.processEnvironment)
        loader.allowOutsideOutputPaths = options.allowOutsideOutputPaths
        let manifest = try loader.load(at: options.manifestURL, displayPath: options.displayPath, environment: options.environment)

        var functions = manifest.functions
        if !options.functions.isEmpty {
            let names = manifest.functions.map(\.name)
            var diagnostics = DiagnosticCollector()
            for name in options.functions where !names.contains(name) {
                diagnostics.error("no function named '\(name)' in \(options.displayPath)" + didYouMean(name, names), at: nil)
            }
            try diagnostics.throwIfErrors()
            functions = manifest.functions.filter { options.functions.contains($0.name) }
        }

        let lock = manifest.lockURL.path == expectedLockURL.path
            ? try lockAhead.value() : try LockFile.read(at: manifest.lockURL, displayPath: lockDisplayPath)

        var diagnostics = DiagnosticCollector()
        var references: [String: SecretReference] = [:]
        // With each declaration in hand once: whether the lock records it as the manifest declares it now.
        let section = lock?.section(for: manifest.environment) ?? LockFile.Section()
        var lockedVersions: [String: String] = [:]
        var rotating: Set<String> = []
        var providerOf: [String: String] = [:]
        let needed = Set(functions.flatMap(\.secretNames))
        // What only reports and the fan-out's order need is made on threads of their own meanwhile.
        let namesAhead = ReadAhead { needed.sorted() }
        let usersAhead = ReadAhead { [functions] in
            var users: [String: [String]] = [:]
            for function in functions {
                for secret in function.secretNames { users[secret, default: []].append(function.name) }
            }
            return users
        }
        // Each secret is opened on its own, at fleet size in two halves at once; diagnostics are sorted
        // when they are printed, so any order will do.
        let names = Array(needed)
        let (secrets, vars, environment) = (manifest.secrets, manifest.vars, options.processEnvironment)
        let parts = inTwoHalves(names.count) { range in
            var opened: [OpenedSecret] = []
            opened.reserveCapacity(range.count)
            var diagnostics = DiagnosticCollector()
            var failure: Error?
            var usedProviders: Set<String> = []
            var lockedIds: [String: [String]] = [:]
            for name in names[range] {
                let declaration = secrets[name]!
                do {
                    let id = try TemplateEvaluator.expandID(declaration.id, vars: vars, environment: environment)
                    let reference = SecretReference(name: name, id: id, policy: declaration.policy)
                    for problem in registry.kind(named: declaration.providerType)?.problems(with: reference) ?? [] {
                        diagnostics.error(problem, at: declaration.location)
                    }
                    let entry = section.secrets[name]
                    let declared = entry?.declares(
                        provider: declaration.providerName, type: declaration.providerType, id: id, policy: declaration.policy.description)
                    let lockedVersion = declared == true ? entry?.version : nil
                    opened.append(OpenedSecret(
                        reference: reference, provider: declaration.providerName, lockedVersion: lockedVersion,
                        rotates: declaration.rotation != nil))
                    usedProviders.insert(declaration.providerName)
                    if lockedVersion != nil { lockedIds[declaration.providerName, default: []].append(id) }
                } catch let error as InjectSecretsError {
                    diagnostics.append(contentsOf: error.diagnostics)
                } catch {
                    failure = failure ?? error
                }
            }
            return (
                opened: opened, diagnostics: diagnostics.diagnostics, failure: failure, providers: usedProviders,
                lockedIds: lockedIds)
        }
        for part in parts {
            if let failure = part.failure { throw failure }
            diagnostics.append(contentsOf: part.diagnostics)
        }
        try diagnostics.throwIfErrors()

        var providers: [String: any SecretProvider] = [:]
        for providerName in parts.reduce(into: Set(), { $0.formUnion($1.providers) }).sorted() where makeProviders {
            let declaration = manifest.providers[providerName]!
            providers[providerName] = try registry.kind(named: declaration.type)!.make(declaration)
        }
        let audit = try makeProviders ? options.auditLogURL.map { try AuditLog(url: $0) } : nil
        if inspectingLocked {
            let lockedIds = parts.reduce(into: [:]) { all, part in all.merge(part.lockedIds, uniquingKeysWith: +) }
            for (name, ids) in lockedIds { providers[name]?.willInspect(ids) }
        }

        references.reserveCapacity(needed.count)
        lockedVersions.reserveCapacity(needed.count)
        providerOf.reserveCapacity(needed.count)
        for part in parts {
            for secret in part.opened {
                let name = secret.reference.name
                references[name] = secret.reference
                providerOf[name] = secret.provider
                if let version = secret.lockedVersion { lockedVersions[name] = version }
                if secret.rotates { rotating.insert(name) }
            }
        }
        let redactor = RunRedactor()
        redactor.remember(credentialsIn: options.processEnvironment)
        return Workspace(
            options: options, manifest: manifest, functions: functions, lock: lock, references: references,
            providers: providers, audit: audit, redactor: redactor, root: root, runLock: runLock,
            lockedVersions: lockedVersions, rotating: rotating, providerOf: providerOf, sortedNames: namesAhead, users: usersAhead)
    }

    /// Takes the run lock (unless the caller holds it) and recovers an interrupted commit.
    static func takeRunLock(_ options: RunOptions, root: DirectoryHandle) throws -> RunLock? {
        guard !options.holdsRunLock else { return nil }
        let folder = (options.displayPath as NSString).deletingLastPathComponent
        let lock = try RunLock.acquire(
            in: root, displayFolder: folder, wait: options.lockWait, interruption: options.interruption, notice: options.notice)
        if let note = try CommitJournal.recover(in: root, displayFolder: folder) { options.notice?("note: " + note) }
        return lock
    }

    func declaration(_ name: String) -> SecretDeclaration { manifest.secrets[name]! }

    /// Every `${env.NAME}` without a default must be set: checked before any store is contacted, so
    /// that bad input never costs a read.
    func checkEnvironmentReferences() throws {
        var diagnostics = DiagnosticCollector()
        for function in functions {
            for variable in function.variables {
                for reference in variable.template.references {
                    if case .environment(let name, nil) = reference.kind, options.processEnvironment[name] == nil {
                        diagnostics.error(
                            "environment variable \(name) is not set (\(reference.text) in \(variable.key) of function '\(function.name)'); set it or write ${env.\(name):-default}",
                            at: reference.location)
                    }
                }
            }
        }
        try diagnostics.throwIfErrors()
    }

    /// The secrets of this run that the lock records as the manifest declares them now, with the
    /// version it records.
    let lockedVersions: [String: String]
    /// The secrets of this run with a rotation policy.
    let rotating: Set<String>
    /// The provider of each secret of this run, by name.
    let providerOf: [String: String]

    /// The lock entry for a secret when it records the same declaration as the manifest now.
    func lockedEntry(_ name: String) -> LockFile.SecretEntry? { lockedVersions[name] != nil ? lockSection.secrets[name] : nil }

    /// The names of `references`, sorted.
    private let sortedNames: ReadAhead<[String]>
    /// Secret name -> the functions of this run that read it, sorted.
    private let users: ReadAhead<[String: [String]]>

    /// The names of the secrets of this run, sorted.
    var names: [String] { try! sortedNames.value() }

    /// Functions of this run that read `secret`.
    func functions(using secret: String) -> [String] {
        try! users.value()[secret] ?? []
    }

    /// Reads every reference once: distinct (provider, id, policy) share one read, and providers are
    /// asked concurrently, each with all of its references in one call so it can batch.
    /// Every outcome is audited (when `--audit-log` is on) before it is returned, denials included.
    func fetch(_ references: [String: SecretReference], for operation: AuditRecord.Operation = .render) async throws -> [String: Result<FetchedSecret, ProviderFailure>] {
        var results = await fanOut(references, \.self, .read) { provider, unique in
            let fetched = await provider.fetch(unique)
            return unique.map { fetched[$0] ?? .failure(ProviderFailure(.invalidResponse, "the store gave no answer")) }
        }
        redactor.remember(values: results.values.compactMap { try? $0.get().value })
        results = await redacted(results)
        try audit?.append(results.keys.sorted().map { name in
            let reference = references[name]!
            switch results[name]! {
            case .success(let secret):
                return auditRecord(operation, name, reference, version: secret.version, locator: secret.locator)
            case .failure(let failure):
                return auditRecord(operation, name, reference, failure: failure)
            }
        })
        return results
    }

    /// Asks the providers what versions their policies select now, from metadata only.
    func inspect(_ queries: [String: VersionQuery], for operation: AuditRecord.Operation) async throws -> [String: Result<VersionStatus, ProviderFailure>] {
        let results = await redacted(inspect(queries))
        try audit?.append(results.keys.sorted().map { name in
            let query = queries[name]!
            var record: AuditRecord
            switch results[name]! {
            case .success(let status):
                record = auditRecord(operation, name, query.reference, version: status.selected, locked: query.lockedVersion, locator: status.locator)
            case .failure(let failure):
                record = auditRecord(operation, name, query.reference, locked: query.lockedVersion, failure: failure)
            }
            // Render, exec and deploy read values; a lookup here is for `${ref.*}` only.
            record.referenceOnly = [.render, .exec, .deploy].contains(operation)
            return record
        })
        return results
    }

    private func auditRecord(
        _ operation: AuditRecord.Operation, _ name: String, _ reference: SecretReference, version: String? = nil,
        locked: String? = nil, locator: String? = nil, failure: ProviderFailure? = nil
    ) -> AuditRecord {
        let declaration = declaration(name)
        return AuditRecord(
            time: Date(), run: audit?.run ?? "", operation: operation, provider: declaration.providerName,
            providerType: declaration.providerType, secret: name, id: reference.id, policy: declaration.policy.description,
            version: version, lockedVersion: locked, locator: locator, functions: functions(using: name),
            outcome: failure.map(AuditRecord.outcome(of:)) ?? .ok, errorKind: failure?.kind.rawValue,
            message: failure?.message, environment: manifest.environment,
            pipeline: AuditRecord.pipelineIdentity(options.processEnvironment))
    }

    private func inspect(_ queries: [String: VersionQuery]) async -> [String: Result<VersionStatus, ProviderFailure>] {
        // A canonical query carries one of its names: the first of those that share its read.
        await fanOut(queries, \.reference, .inspect) { provider, unique in await provider.inspect(unique) }
    }

    /// Hands each provider its distinct items (references, or queries) at once, concurrently, and gives
    /// every name the answer to its item's reference. `call` answers in the order of the items it was given.
    private func fanOut<Item: Sendable, Answer: Sendable>(
        _ items: [String: Item], _ referenceOf: KeyPath<Item, SecretReference>, _ operation: ProviderFailure.Operation,
        _ call: @escaping @Sendable (any SecretProvider, [Item]) async -> [Result<Answer, ProviderFailure>]
    ) async -> [String: Result<Answer, ProviderFailure>] {
        // One canonical item per (provider, id, policy); names map onto its place in its group.
        var slots: [String: Int] = [:]
        var groups: [(provider: String, items: [Item])] = []
        var canonical: [(name: String, slot: Int, index: Int)] = []
        canonical.reserveCapacity(items.count)
        var seen: [StoreRead: Int] = [:]
        seen.reserveCapacity(items.count)
        // In name order, which the run's sorted names give without sorting these: every caller hands
        // over items of this run's secrets.
        for name in names {
            guard let item = items[name] else { continue }
            let reference = item[keyPath: referenceOf]
            let provider = providerOf[name]!
            let slot = slots[provider] ?? {
                groups.append((provider, []))
                slots[provider] = groups.count - 1
                return groups.count - 1
            }()
            let key = StoreRead(provider: provider, id: reference.id, policy: reference.policy)
            if let first = seen[key] {
                canonical.append((name, slot, first))
            } else {
                let index = groups[slot].items.count
                seen[key] = index
                canonical.append((name, slot, index))
                groups[slot].items.append(item)
            }
        }
        assert(canonical.count == items.count, "an item that is not one of this run's secrets")
        let providers = self.providers
        let answers = await withTaskGroup(of: (Int, [Result<Answer, ProviderFailure>]).self) { group in
            for (slot, (provider, unique)) in groups.enumerated() {
                let store = providers[provider]!
                group.addTask { (slot, await call(store, unique)) }
            }
            var answers = [[Result<Answer, ProviderFailure>]](repeating: [], count: groups.count)
            for await (slot, answer) in group { answers[slot] = answer }
            return answers
        }
        var results: [String: Result<Answer, ProviderFailure>] = [:]
        results.reserveCapacity(canonical.count)
        for (name, slot, index) in canonical {
            // A store that left out an answer, the operation or the path still gets a located message.
            let answer = index < answers[slot].count
                ? answers[slot][index] : .failure(ProviderFailure(.invalidResponse, "the store gave no answer"))
            results[name] = answer.mapError { $0.during(operation, of: groups[slot].items[index][keyPath: referenceOf].id) }
        }
        releaseInBackground(consume answers, consume seen, consume canonical, consume groups)
        return results
    }

    /// The answers with every value read and credential used so far removed from their failures'
    /// messages: this is where every store failure of a run passes before it reaches the audit log or a
    /// diagnostic, so one scrub covers stderr, annotations, the step summary and JUnit.
    private func redacted<Answer>(_ results: [String: Result<Answer, ProviderFailure>]) async -> [String: Result<Answer, ProviderFailure>] {
        for provider in providers.values { redactor.remember(await provider.credentialsInUse()) }
        // Only failures carry text; answers, by the thousand, pass as they are, uncopied when all are.
        func failed(_ result: Result<Answer, ProviderFailure>) -> Bool {
            if case .failure = result { return true }
            return false
        }
        guard results.values.contains(where: failed) else { return results }
        var scrubbed = results
        for (name, result) in results {
            if case .failure(let failure) = result { scrubbed[name] = .failure(redactor.scrub(failure)) }
        }
        return scrubbed
    }

    /// Lets every provider clean up (revoke tokens it created), even when the run was cancelled: the
    /// revocation runs in a task of its own, which the cancellation does not reach.
    package func finish() async {
        let providers = Array(providers.values)
        await Task.detached {
            for provider in providers { await provider.finish() }
        }.value
    }
}

/// One secret of a run as `Workspace.open` finds it: its reference, provider, the version the lock
/// records for its declaration as it is now, and whether it has a rotation policy.
private struct OpenedSecret: Sendable {
    var reference: SecretReference
    var provider: String
    var lockedVersion: String?
    var rotates: Bool
}

/// What one read from a store is: names declaring the same provider, id and policy share it.
private struct StoreRead: Hashable {
    var provider: String
    var id: String
    var policy: VersionPolicy
}

extension Diagnostic {
    /// The one message of a store failure, for every store alike: the secret and the provider, then
    /// what the store was doing where and why (`ProviderFailure.message`). Stores name neither.
    static func storeFailure(_ failure: ProviderFailure, secret: String, provider: String) -> Diagnostic {
        .error("secret '\(secret)' (provider '\(provider)'): \(failure.message)", at: failure.location)
    }
}
