@testable import InjectSecretsCore
@testable import InjectSecretsKit
import Foundation

/// A store held in memory, registered through `InjectSecrets(registry:)` so that the engine's stages run
/// in-process: versions with the creation and expiry dates the test gives them (or none), writable by
/// `rotate`, able to name a version for `${ref.*}`; it counts value reads and metadata questions per id,
/// so a test can prove render never read a value it only references. One shared state, reset by each test.
struct MemoryStore: SecretProvider, SecretProviderKind, SecretWriting, RuntimeReferencing {
    static let typeName = "memory"
    static let settingKeys: [String] = []

    struct Version {
        var id: String
        var value: String
        var created: Date?
        var expires: Date? = nil
    }

    final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var secrets: [String: [Version]] = [:]
        /// How many times `inspect` was asked for dates, to check that only policies ask.
        private(set) var datedQueries = 0
        private var valueReads: [String: Int] = [:]
        private var metadataReads: [String: Int] = [:]
        /// Ids the store rotates itself; `stuck` ids start a rotation that never finishes.
        var selfRotating: Set<String> { get { lock.withLock { rotating } } set { lock.withLock { rotating = newValue } } }
        var stuck: Set<String> { get { lock.withLock { stalled } } set { lock.withLock { stalled = newValue } } }
        private var rotating: Set<String> = [], stalled: Set<String> = []

        func reset() {
            lock.withLock { secrets = [:]; datedQueries = 0; rotating = []; stalled = []; valueReads = [:]; metadataReads = [:] }
        }
        func put(_ id: String, _ versions: [Version]) { lock.withLock { secrets[id] = versions } }
        /// One more version of `id`, current from now on, with no date.
        func put(_ id: String, version: String, value: String) { append(id, Version(id: version, value: value, created: nil)) }
        var reads: (values: [String: Int], metadata: [String: Int]) { lock.withLock { (valueReads, metadataReads) } }
        func countRead(_ id: String, value: Bool) {
            lock.withLock { if value { valueReads[id, default: 0] += 1 } else { metadataReads[id, default: 0] += 1 } }
        }
        func versions(_ id: String) -> [Version]? { lock.withLock { secrets[id] } }
        func append(_ id: String, _ version: Version) { lock.withLock { secrets[id, default: []].append(version) } }
        func countDated() { lock.withLock { datedQueries += 1 } }
    }

    static let state = State()

    let name: String
    static func settings(_ declaration: ProviderDeclaration) throws -> String { declaration.name }
    static func make(_ name: String) -> any SecretProvider { MemoryStore(name: name) }

    /// The newest version is current.
    func selected(_ reference: SecretReference) -> Version? {
        guard let versions = Self.state.versions(reference.id) else { return nil }
        switch reference.policy {
        case .current: return versions.last
        case .version(let id): return versions.first { $0.id == id }
        case .stage: return nil
        }
    }

    func fetch(_ references: [SecretReference]) async -> [SecretReference: Result<FetchedSecret, ProviderFailure>] {
        var results: [SecretReference: Result<FetchedSecret, ProviderFailure>] = [:]
        for reference in references {
            Self.state.countRead(reference.id, value: true)
            if let version = selected(reference) {
                results[reference] = .success(FetchedSecret(
                    version: version.id, locator: "memory://\(reference.id)", value: SecretValue(version.value)))
            } else {
                results[reference] = .failure(ProviderFailure(.notFound, "no such secret or version"))
            }
        }
        return results
    }

    func inspect(_ queries: [VersionQuery]) async -> [Result<VersionStatus, ProviderFailure>] {
        var results: [Result<VersionStatus, ProviderFailure>] = []
        for query in queries {
            Self.state.countRead(query.reference.id, value: false)
            guard let versions = Self.state.versions(query.reference.id) else {
                results.append(.failure(ProviderFailure(.notFound, "no such secret")))
                continue
            }
            if query.wantsDates { Self.state.countDated() }
            let selected = selected(query.reference)
            let locked = query.lockedVersion.flatMap { id in versions.first { $0.id == id } }
            results.append(.success(VersionStatus(
                selected: selected?.id, locator: "memory://\(query.reference.id)", locked: query.lockedVersion == nil ? nil : (locked == nil ? .gone(reason: "deleted") : .present),
                created: selected?.created, expires: (locked ?? selected)?.expires)))
        }
        return results
    }

    func write(_ reference: SecretReference, value: SecretValue, expectedCurrent: String?) async throws -> String {
        let versions = Self.state.versions(reference.id) ?? []
        let id = String(versions.count + 1)
        Self.state.append(reference.id, Version(id: id, value: value.text, created: Date()))
        return id
    }
}

extension MemoryStore {
    static func runtimeReferenceProblems(_ request: RuntimeReferenceRequest) -> [String] { [] }

    static func runtimeReference(_ request: RuntimeReferenceRequest, version: String, locator: String?) throws -> String {
        "ref \(locator ?? "?") \(request.follows ? "current" : version)\(request.field.map { " " + $0 } ?? "")"
    }
}

/// The store's own rotation: a new version made in the store, current at once unless the id is stuck.
extension MemoryStore: SelfRotating {
    func rotatesItself(_ reference: SecretReference) async throws -> Bool { Self.state.selfRotating.contains(reference.id) }

    func currentVersion(_ reference: SecretReference) async throws -> String? {
        Self.state.versions(reference.id)?.last?.id
    }

    func startRotation(_ reference: SecretReference) async throws -> String {
        let id = String((Self.state.versions(reference.id)?.count ?? 0) + 1)
        if !Self.state.stuck.contains(reference.id) {
            Self.state.append(reference.id, Version(id: id, value: "made-by-the-store-\(UUID().uuidString)", created: Date()))
        }
        return id
    }
}

extension Date {
    static func daysAgo(_ days: Double) -> Date { Date(timeIntervalSinceNow: -days * 86_400) }
    static func inDays(_ days: Double) -> Date { Date(timeIntervalSinceNow: days * 86_400) }
}
