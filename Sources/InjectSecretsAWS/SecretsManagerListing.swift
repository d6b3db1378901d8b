import Foundation
import InjectSecretsKit

extension AWSSecretsManagerProvider {
    /// The secrets of one ListSecrets call's pages that it was asked for, and whether it read them all.
    typealias ListedSecrets = Result<(found: [String: SecretMetadata], finished: Bool), ProviderFailure>
}

/// A listing plan being run in a task of its own, paced as `inspect` paces it: each call's pages
/// arrive in `pages` once read, in the order they finish. Ending the iteration (or `cancel`) stops the
/// calls not yet made.
final class SecretsManagerListing: Sendable {
    typealias Page = (call: SecretsManagerListPlan.Call, listed: AWSSecretsManagerProvider.ListedSecrets)

    /// The names it lists, sorted and distinct.
    let names: Task<[String], Never>
    let pages: AsyncStream<Page>
    private let task: Task<Void, Never>

    /// Lists the names of `ids` (`listedNames`), found and planned in tasks of their own, so that the
    /// caller goes on meanwhile.
    convenience init(ids: [String], provider: AWSSecretsManagerProvider) {
        let names = Task(priority: .high) { AWSSecretsManagerProvider.listedNames(ids) }
        self.init(names, provider: provider) { SecretsManagerListPlan(names: $0).calls }
    }

    /// Lists `names` (sorted and distinct) with the calls `plan` makes of them.
    convenience init(
        names: [String], provider: AWSSecretsManagerProvider,
        plan: @escaping @Sendable ([String]) -> [SecretsManagerListPlan.Call] = {
            SecretsManagerListPlan(names: $0).calls
        }
    ) {
        self.init(Task { names }, provider: provider, plan: plan)
    }

    private init(
        _ names: Task<[String], Never>, provider: AWSSecretsManagerProvider,
        plan: @escaping @Sendable ([String]) -> [SecretsManagerListPlan.Call]
    ) {
        self.names = names
        let (pages, continuation) = AsyncStream.makeStream(of: Page.self)
        self.pages = pages
        // High: a run's first store calls are what it waits on. And a plain Task, not a detached one,
        // so that it keeps the run's deadline (a task-local).
        task = Task(priority: .high) {
            let calls = plan(await names.value)
            await boundedConcurrentForEach(calls, limit: provider.concurrency, pacer: provider.listPacer) { call in
                await provider.listSecrets(call)
            } each: { index, listed in
                continuation.yield((calls[index], listed))
            }
            continuation.finish()
        }
        continuation.onTermination = { [task] _ in task.cancel() }
    }

    func cancel() { task.cancel() }
}

/// The listing `willInspect` started, until `inspect` takes it or `finish` stops it.
final class HeldListing: @unchecked Sendable {
    private let lock = NSLock()
    private var listing: SecretsManagerListing?

    func hold(_ new: SecretsManagerListing) {
        let old = lock.withLock { () -> SecretsManagerListing? in
            defer { listing = new }
            return listing
        }
        old?.cancel()
    }

    /// The listing held, when it lists exactly `names`; one that lists other names is stopped, and
    /// `inspect` lists its own.
    func take(for names: [String]) async -> SecretsManagerListing? {
        guard let held = drop() else { return nil }
        if await held.names.value == names { return held }
        held.cancel()
        return nil
    }

    func stop() { drop()?.cancel() }

    private func drop() -> SecretsManagerListing? {
        lock.withLock {
            defer { listing = nil }
            return listing
        }
    }
}
