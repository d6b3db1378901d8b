import Foundation
import InjectSecretsKit

/// Credentials from one source, cached for the run and fetched again before they expire.
///
/// Windows as in botocore's `RefreshableCredentials`: with less than 15 minutes left a refresh is
/// attempted (advisory); if it fails while more than 10 minutes are left, the cached credentials are
/// still used; inside 10 minutes (mandatory) the failure is thrown. Credentials without an expiration
/// are fetched once. Concurrent callers share one fetch: an actor plus one in-flight task.
actor RefreshingCredentials: AWSCredentialSource {
    nonisolated let name: String
    private let fetch: @Sendable () async throws -> AWSCredentials
    private let advisoryWindow: TimeInterval
    private let mandatoryWindow: TimeInterval
    private var cached: AWSCredentials?
    private var inFlight: Task<AWSCredentials, Error>?
    /// How many times the source was fetched (for tests).
    private(set) var fetchCount = 0

    init(
        name: String, initial: AWSCredentials? = nil, advisoryWindow: TimeInterval = 15 * 60,
        mandatoryWindow: TimeInterval = 10 * 60, fetch: @escaping @Sendable () async throws -> AWSCredentials
    ) {
        self.name = name
        self.cached = initial
        self.advisoryWindow = advisoryWindow
        self.mandatoryWindow = mandatoryWindow
        self.fetch = fetch
    }

    func credentialsInUse() async -> [String] { cached?.secretParts ?? [] }

    func credentials() async throws -> AWSCredentials {
        guard let cached else { return try await refresh() }
        guard let expiration = cached.expiration else { return cached }
        let remaining = expiration.timeIntervalSinceNow
        if remaining > advisoryWindow { return cached }
        do {
            return try await refresh()
        } catch {
            if remaining > mandatoryWindow { return cached }
            throw error
        }
    }

    private func refresh() async throws -> AWSCredentials {
        if let inFlight { return try await inFlight.value }
        let fetch = self.fetch
        let task = Task { try await fetch() }
        inFlight = task
        defer { inFlight = nil }
        fetchCount += 1
        let fresh = try await task.value
        cached = fresh
        return fresh
    }
}

/// Credentials that never change during a run (environment variables, static keys in a file).
struct StaticCredentials: AWSCredentialSource {
    var value: AWSCredentials
    func credentials() async throws -> AWSCredentials { value }
    func credentialsInUse() async -> [String] { value.secretParts }
}
