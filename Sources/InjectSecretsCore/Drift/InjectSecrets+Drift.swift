import Foundation
import InjectSecretsKit

extension InjectSecrets {
    /// Compares the lock with the manifest, the stores' metadata and the outputs on disk. Reads no value.
    package func drift(_ options: RunOptions) async throws -> DriftReport {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await drift(options) }
        }
        let workspace = try Workspace.open(options, registry: registry, exclusive: true, inspectingLocked: true)
        let manifest = workspace.manifest
        // What needs no store answer is found on a thread of its own while the stores are asked: at
        // fleet size (5,000 outputs, 20,000 secrets) it takes as long as a fifth of the listing.
        let recordURL = manifest.outputDirectory.appendingPathComponent(RenderRecord.fileName)
        let recordDisplayPath = manifest.relativePath(recordURL)
        let (functions, section, environment) = (workspace.functions, workspace.lockSection, manifest.environment)
        let offline = ReadAhead(yielding: true) {
            // A render record that cannot be read is reported after the stores' own failures, as before.
            let outputs = Result {
                let record = try RenderRecord.read(at: recordURL, displayPath: recordDisplayPath) ?? RenderRecord()
                return DriftStage.outputsAgainstRecord(functions, record: record, section: section, environment: environment)
            }
            return (outputs: outputs, followers: RenderStages.followers(functions))
        }
        let queries = DriftStage.queries(workspace)
        // What the lock and the manifest say without the stores is found while the stores are asked.
        async let asked = workspace.inspect(queries, for: .drift)
        var entries = DriftStage.lockAgainstManifest(workspace)
        let answers: [String: Result<VersionStatus, ProviderFailure>]
        do {
            answers = try await asked
        } catch {
            await workspace.finish()
            throw error
        }
        await workspace.finish()
        // One clock reading for the whole report, so every age is measured from the same moment.
        let now = Date()
        let found = try offline.value()
        let stores = DriftStage.storesAgainstLock(
            answers, queries: queries, users: workspace.functions(using:), followers: found.followers, now: now)
        if !stores.failures.isEmpty {
            throw InjectSecretsError(.storeFailure, stores.failures.map {
                .storeFailure($0.failure, secret: $0.secret, provider: workspace.declaration($0.secret).providerName)
            })
        }
        let policies = Dictionary(uniqueKeysWithValues: workspace.rotating.map { ($0, manifest.secrets[$0]!.rotation!) })
        let age = DriftStage.rotationAge(answers, queries: queries, policies: policies, users: workspace.functions(using:), now: now)
        entries += stores.entries + age.entries

        entries += try found.outputs.get()

        let outputPlaces = DriftStage.locate(&entries, secrets: manifest.secrets, functions: workspace.functions)
        var report = DriftReport(environment: manifest.environment, entries: entries, notes: stores.notes + age.notes)
        // The secrets checked: the run's (sorted while the manifest was opened) and the lock's orphans,
        // which few runs have.
        let orphans = Set(entries.compactMap(\.secret)).filter { workspace.references[$0] == nil }
        report.checkedSecrets = orphans.isEmpty ? workspace.names : (workspace.names + orphans).sorted()
        report.checkedOutputs = outputPlaces.keys.sorted()
        releaseInBackground(consume workspace, consume manifest, consume answers, consume queries, consume functions, consume section)
        return report
    }
}
