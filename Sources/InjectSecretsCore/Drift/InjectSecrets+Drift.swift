import Foundation
import InjectSecretsKit

extension InjectSecrets {
    /// Compares the lock with the manifest, the stores' metadata and the outputs on disk. Reads no value.
    package func drift(_ options: RunOptions) async throws -> DriftReport {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await drift(options) }
        }
        let workspace = try Workspace.open(options, registry: registry, exclusive: true)
        let manifest = workspace.manifest
        var (entries, queries) = DriftStage.lockAgainstManifest(workspace)

        let answers: [String: Result<VersionStatus, ProviderFailure>]
        do {
            answers = try await workspace.inspect(queries, for: .drift)
        } catch {
            await workspace.finish()
            throw error
        }
        await workspace.finish()
        // One clock reading for the whole report, so every age is measured from the same moment.
        let now = Date()
        let stores = DriftStage.storesAgainstLock(
            answers, queries: queries, users: workspace.functions(using:),
            followers: RenderStages.followers(workspace.functions), now: now)
        if !stores.failures.isEmpty {
            throw InjectSecretsError(.storeFailure, stores.failures.map {
                .storeFailure($0.failure, secret: $0.secret, provider: workspace.declaration($0.secret).providerName)
            })
        }
        let policies = manifest.secrets.compactMapValues(\.rotation)
        let age = DriftStage.rotationAge(answers, queries: queries, policies: policies, users: workspace.functions(using:), now: now)
        entries += stores.entries + age.entries

        let recordURL = manifest.outputDirectory.appendingPathComponent(RenderRecord.fileName)
        let record = try RenderRecord.read(at: recordURL, displayPath: manifest.relativePath(recordURL)) ?? RenderRecord()
        entries += DriftStage.outputsAgainstRecord(workspace.functions, record: record, section: workspace.lockSection, environment: manifest.environment)

        let outputPlaces = DriftStage.locate(&entries, secrets: manifest.secrets, functions: workspace.functions)
        var report = DriftReport(environment: manifest.environment, entries: entries, notes: stores.notes + age.notes)
        report.checkedSecrets = Array(Set(workspace.references.keys).union(entries.compactMap(\.secret))).sorted()
        report.checkedOutputs = outputPlaces.keys.sorted()
        return report
    }
}
