import Foundation

extension InjectSecrets {
    /// Compares the lock with the manifest, the stores' metadata and the outputs on disk. Reads no value.
    public func drift(_ options: RunOptions) async throws -> DriftReport {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await drift(options) }
        }
        let workspace = try Workspace.open(options, registry: registry, exclusive: true)
        let manifest = workspace.manifest
        let section = workspace.lockSection
        var entries: [DriftReport.Entry] = []
        var notes: [String] = []

        // Manifest against lock.
        var queries: [String: VersionQuery] = [:]
        for name in workspace.references.keys.sorted() {
            let reference = workspace.references[name]!
            let users = workspace.functions(using: name)
            guard let entry = workspace.lockedEntry(name) else {
                let why = section.secrets[name] == nil
                    ? "\(reference) is used by the manifest but not recorded in the lock"
                    : "the declaration of \(reference) changed since the lock was written"
                entries.append(.init(kind: .unlocked, secret: name, functions: users, message: why + "; run render to lock it"))
                continue
            }
            queries[name] = VersionQuery(reference: reference, lockedVersion: entry.version)
        }
        let selected = Set(workspace.functions.map(\.name))
        let needed = Set(workspace.references.keys)
        for (name, entry) in section.secrets.sorted(by: { $0.key < $1.key }) where !needed.contains(name) {
            let users = section.functions.filter { $0.value.secrets.contains(name) && (options.functions.isEmpty || selected.contains($0.key)) }.map(\.key).sorted()
            guard options.functions.isEmpty || !users.isEmpty else { continue }
            // A secret still used elsewhere in the manifest is not orphaned, only outside this selection.
            if !options.functions.isEmpty, manifest.functions.contains(where: { $0.secretNames.contains(name) }) { continue }
            entries.append(.init(
                kind: .orphaned, secret: name, functions: users,
                message: "\(name) (\(entry.id)) is recorded in the lock but no function uses it any more; run render to drop it"))
        }

        // Stores' metadata against lock.
        let answers: [String: Result<VersionStatus, ProviderFailure>]
        do {
            answers = try await workspace.inspect(queries, for: .drift)
        } catch {
            await workspace.finish()
            throw error
        }
        await workspace.finish()
        var failures: [Diagnostic] = []
        let following = RenderStages.followingNames(workspace.functions)
        for name in answers.keys.sorted() {
            let reference = queries[name]!.reference
            let locked = queries[name]!.lockedVersion!
            let users = workspace.functions(using: name)
            switch answers[name]! {
            case .failure(let failure):
                failures.append(.storeFailure(failure, secret: name, provider: workspace.declaration(name).providerName))
            case .success(let status):
                notes += status.notes.map { "\(name) (\(reference.id)): \($0)" }
                switch status.locked {
                case .gone(let reason):
                    entries.append(.init(
                        kind: .versionGone, secret: name, functions: users, locked: locked, current: status.selected,
                        message: "\(reference) locked version \(locked) is gone: \(reason)"))
                case .unlabeled:
                    entries.append(.init(
                        kind: .versionUnlabeled, secret: name, functions: users, locked: locked, current: status.selected,
                        message: "\(reference) locked version \(locked) has lost its last staging label; the store may delete it"))
                case .present, nil:
                    break
                }
                if let current = status.selected, current != locked, following.contains(name) {
                    notes.append("\(name) (\(reference.id)) rotated (locked \(locked), current \(current)): \(users.joined(separator: ", ")) follow\(users.count == 1 ? "s" : "") rotations by \(users.count == 1 ? "itself" : "themselves") (${ref.\(name):current}), nothing to render or deploy")
                } else if let current = status.selected, current != locked {
                    entries.append(.init(
                        kind: .rotated, secret: name, functions: users, locked: locked, current: current,
                        message: "\(reference) rotated: locked \(locked), current \(current)"))
                } else if status.selected == nil, case .current = reference.policy, status.locked == .present || status.locked == nil {
                    entries.append(.init(
                        kind: .rotated, secret: name, functions: users, locked: locked,
                        message: "\(reference): the store has no current version any more (locked \(locked))"))
                }
            }
        }
        if !failures.isEmpty { throw InjectSecretsError(.storeFailure, failures) }

        // Outputs against the render record and the lock.
        let record = try RenderRecord.read(at: manifest.outputDirectory.appendingPathComponent(RenderRecord.fileName), displayPath: manifest.relativePath(manifest.outputDirectory.appendingPathComponent(RenderRecord.fileName))) ?? RenderRecord()
        for function in workspace.functions {
            for output in function.outputs {
                let users = [function.name]
                guard let identity = RenderRecord.fileIdentity(of: output.url) else {
                    entries.append(.init(kind: .outputMissing, output: output.path, functions: users, message: "\(output.path) of function '\(function.name)' is missing; run render"))
                    continue
                }
                guard let rendered = record.outputs[output.path] else {
                    entries.append(.init(kind: .outputStale, output: output.path, functions: users, message: "\(output.path) of function '\(function.name)' has no render record: it was not written by render here"))
                    continue
                }
                if !RenderRecord.isSameFile(recorded: rendered.fileIdentity, now: identity) {
                    entries.append(.init(kind: .outputModified, output: output.path, functions: users, message: "\(output.path) of function '\(function.name)' was changed since render wrote it"))
                    continue
                }
                var reasons: [String] = []
                if rendered.environment != (manifest.environment ?? "") {
                    reasons.append(rendered.environment.isEmpty ? "it was rendered without an environment" : "it was rendered for environment '\(rendered.environment)'")
                }
                if rendered.definition != RenderRecord.definitionDigest(function, format: output.format) {
                    reasons.append("the function's env or the output format changed in the manifest")
                }
                for name in function.secretNames {
                    guard let lockedVersion = section.secrets[name]?.version else { continue }
                    if let used = rendered.versions[name], used != lockedVersion {
                        reasons.append("\(name) at version \(used), the lock has \(lockedVersion)")
                    } else if rendered.versions[name] == nil {
                        reasons.append("it does not hold \(name)")
                    }
                }
                if !reasons.isEmpty {
                    entries.append(.init(
                        kind: .outputStale, output: output.path, functions: users,
                        message: "\(output.path) of function '\(function.name)' is stale: " + reasons.joined(separator: "; ")))
                }
            }
        }
        // Places in the manifest, for CI annotations.
        var outputPlaces: [String: SourceLocation] = [:]
        for function in workspace.functions { for output in function.outputs { outputPlaces[output.path] = output.location } }
        for index in entries.indices {
            if let secret = entries[index].secret {
                entries[index].location = manifest.secrets[secret]?.location
            } else if let output = entries[index].output {
                entries[index].location = outputPlaces[output]
            }
        }
        var report = DriftReport(environment: manifest.environment, entries: entries, notes: notes)
        report.checkedSecrets = Array(Set(workspace.references.keys).union(entries.compactMap(\.secret))).sorted()
        report.checkedOutputs = outputPlaces.keys.sorted()
        return report
    }
}
