import Foundation
import InjectSecretsKit

/// The `SecretProvider` contract as checks every store passes, each against its real server (the file
/// store in process), in the way swift-log states its `LogHandler` requirements and tests them. Each
/// store's test target seeds its store, describes it in a `Store`, and asserts that `check` finds no
/// violation. No XCTest here: the checks return what they found, so any test target can run them.
package enum ProviderConformance {
    /// One secret the store holds, and the value it must answer.
    package struct Present: Sendable {
        package var id: String
        package var policy: VersionPolicy
        package var value: String

        package init(id: String, policy: VersionPolicy = .current, value: String) {
            self.id = id
            self.policy = policy
            self.value = value
        }
    }

    /// A seeded store.
    package struct Store: Sendable {
        package var provider: any SecretProvider
        /// At least one secret the store holds; two policies of one id (current and a pinned version)
        /// check that distinct references to the same id are each answered with their own version.
        package var present: [Present]
        /// An id the store has no secret under.
        package var missingID: String
        /// A provider of the same store whose credential may not read `deniedID` (nil for a store with
        /// no access control, such as the file store).
        package var denied: (provider: any SecretProvider, id: String)?
        /// Every secret value in the store: none may appear in any failure.
        package var canaries: [String]

        package init(
            provider: any SecretProvider, present: [Present], missingID: String,
            denied: (provider: any SecretProvider, id: String)? = nil, canaries: [String]
        ) {
            self.provider = provider
            self.present = present
            self.missingID = missingID
            self.denied = denied
            self.canaries = canaries
        }
    }

    /// Runs every requirement and returns the violations, empty when the store conforms. Finishes the
    /// providers (revoking what they logged in for).
    package static func check(_ store: Store) async -> [String] {
        var violations: [String] = []
        // Manifest names unlike any id: a failure that quotes one names the secret, which only the
        // engine may do.
        let tag = UUID().uuidString.prefix(8)
        func name(_ index: Int) -> String { "manifest-name-\(index)-\(tag)" }
        let present = store.present.enumerated().map { index, secret in
            (SecretReference(name: name(index), id: secret.id, policy: secret.policy), secret.value)
        }
        let missing = SecretReference(name: name(store.present.count), id: store.missingID, policy: .current)
        let references = present.map(\.0) + [missing]
        let names = references.map(\.name)

        func checkFailure(
            _ failure: ProviderFailure, _ label: String, kind: ProviderFailure.Kind, operation: ProviderFailure.Operation,
            id: String
        ) {
            if failure.kind != kind { violations.append("\(label): kind is \(failure.kind), not \(kind): \(failure)") }
            checkFields(failure, label, operation: operation, id: id)
        }
        func checkFields(_ failure: ProviderFailure, _ label: String, operation: ProviderFailure.Operation, id: String) {
            if failure.operation != operation {
                violations.append("\(label): operation is \(failure.operation.map { "\($0)" } ?? "unset"), not \(operation): \(failure)")
            }
            if !(failure.path ?? "").contains(id) {
                violations.append("\(label): the path \(failure.path ?? "(unset)") does not name the store's id \(id)")
            }
            if failure.detail.isEmpty { violations.append("\(label): the failure has no detail") }
            let texts = [failure.message, failure.detail, failure.relayed ?? "", failure.path ?? "", "\(failure)", String(reflecting: failure)]
            for canary in store.canaries where texts.contains(where: { $0.contains(canary) }) {
                violations.append("\(label): a secret value appears in the failure")
            }
            for name in names where failure.message.contains(name) {
                violations.append("\(label): the failure names the secret '\(name)' itself; only the engine does: \(failure)")
            }
        }

        // fetch: every distinct reference answered, each with its own value; the missing one not found.
        let fetched = await store.provider.fetch(references)
        if Set(fetched.keys) != Set(references) {
            violations.append("fetch answered \(fetched.count) of \(references.count) references")
        }
        for (reference, value) in present {
            switch fetched[reference] {
            case .success(let secret)?:
                if secret.value.text != value { violations.append("fetch \(reference.id) (\(reference.policy)): another value came back") }
                if secret.version.isEmpty { violations.append("fetch \(reference.id) (\(reference.policy)): no version") }
            case .failure(let failure)?:
                violations.append("fetch \(reference.id) (\(reference.policy)) failed: \(failure)")
                checkFields(failure, "fetch \(reference.id)", operation: .read, id: reference.id)
            case nil: break
            }
        }
        if case .failure(let failure)? = fetched[missing] {
            checkFailure(failure, "fetch of a missing secret", kind: .notFound, operation: .read, id: missing.id)
        } else if fetched[missing] != nil {
            violations.append("fetch of a missing secret succeeded")
        }

        // inspect: metadata only, the same versions; the missing one not found.
        let versions = fetched.compactMapValues { try? $0.get().version }
        let queries = references.map { VersionQuery(reference: $0, lockedVersion: nil) }
        let answers = await store.provider.inspect(queries)
        if answers.count != queries.count {
            violations.append("inspect answered \(answers.count) of \(queries.count) queries")
        }
        let inspected = Dictionary(zip(queries, answers), uniquingKeysWith: { first, _ in first })
        for query in queries where query.reference != missing {
            switch inspected[query] {
            case .success(let status)?:
                if let version = versions[query.reference], status.selected != version {
                    violations.append("inspect \(query.reference.id) (\(query.reference.policy)) selects \(status.selected ?? "nothing"), fetch read \(version)")
                }
            case .failure(let failure)?:
                violations.append("inspect \(query.reference.id) (\(query.reference.policy)) failed: \(failure)")
                checkFields(failure, "inspect \(query.reference.id)", operation: .inspect, id: query.reference.id)
            case nil: break
            }
        }
        if case .failure(let failure)? = inspected[VersionQuery(reference: missing, lockedVersion: nil)] {
            checkFailure(failure, "inspect of a missing secret", kind: .notFound, operation: .inspect, id: missing.id)
        } else if inspected[VersionQuery(reference: missing, lockedVersion: nil)] != nil {
            violations.append("inspect of a missing secret succeeded")
        }

        // A refused credential: access denied, located, and nothing of the value.
        if let (provider, id) = store.denied {
            let reference = SecretReference(name: name(references.count), id: id, policy: .current)
            switch await provider.fetch([reference])[reference] {
            case .failure(let failure)?:
                checkFailure(failure, "fetch with a refused credential", kind: .accessDenied, operation: .read, id: id)
            case .success?: violations.append("fetch with a refused credential succeeded")
            case nil: violations.append("fetch with a refused credential gave no answer")
            }
            await provider.finish()
        }
        await store.provider.finish()
        return violations
    }
}
