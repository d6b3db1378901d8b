import Foundation
// A function imports this module only: `RuntimeReference` comes with it.
@_exported import InjectSecretsReference

/// Resolves a function's environment variables at run time: a variable holding a `RuntimeReference`
/// (what `render` writes for `${ref.NAME}`) is fetched through the AWS Parameters and Secrets Lambda
/// Extension; any other value is returned as it is, so one code path serves values injected at deploy
/// time and references alike.
///
/// Values are kept in memory for the life of the process (a Lambda execution environment): a pinned
/// version forever, since it cannot change; a stage or `current` reference for `ttl` seconds, so that a
/// rotation reaches the function without a redeploy. Nothing here logs, prints or describes a value.
///
///     let password = try await SecretsRuntime.value(forVariable: "DB_PASSWORD")
public actor SecretsRuntime {
    /// The process-wide runtime behind the static `value(forVariable:)`, with the default TTL.
    public static let shared = SecretsRuntime()

    public struct Configuration: Sendable {
        /// How long a stage or `current` reference is served from memory before it is fetched again.
        public var ttl: TimeInterval
        /// Per request to the extension.
        public var timeout: TimeInterval
        /// The largest answer accepted (a Secrets Manager value is at most 64 KiB; JSON escaping and
        /// the response's other fields make room for more).
        public var maximumResponseBytes: Int

        public init(ttl: TimeInterval = 300, timeout: TimeInterval = 10, maximumResponseBytes: Int = 1 << 20) {
            self.ttl = ttl
            self.timeout = timeout
            self.maximumResponseBytes = maximumResponseBytes
        }
    }

    private let configuration: Configuration
    private let environment: [String: String]
    private let now: @Sendable () -> Date
    private var cache: [Key: Entry] = [:]
    private var inFlight: [Key: Task<String, Error>] = [:]

    /// The raw value of one store version; fields are picked from it per reference.
    private struct Key: Hashable {
        var store: RuntimeReference.Store
        var arn: String
        var selector: RuntimeReference.Selector
    }

    private struct Entry {
        var value: String
        var expires: Date?
    }

    /// `environment` is the process environment unless a test gives another; `now` is the clock the TTL
    /// is measured on.
    public init(
        configuration: Configuration = Configuration(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.environment = environment
        self.now = now
    }

    public init(ttl: TimeInterval) {
        self.init(configuration: Configuration(ttl: ttl))
    }

    /// The value of an environment variable of this process, fetched if it holds a reference.
    public static func value(forVariable name: String) async throws -> String {
        try await shared.value(forVariable: name)
    }

    public func value(forVariable name: String) async throws -> String {
        guard let text = environment[name] else { throw SecretsRuntimeError.variableNotSet(name) }
        guard RuntimeReference.isReference(text) else { return text }
        let reference: RuntimeReference
        do {
            reference = try RuntimeReference(parsing: text)
        } catch let error as RuntimeReferenceError {
            throw SecretsRuntimeError.badReference(variable: name, error)
        }
        return try await value(of: reference)
    }

    /// The value a reference points at (its field, for `key=`).
    public func value(of reference: RuntimeReference) async throws -> String {
        let raw = try await rawValue(Key(store: reference.store, arn: reference.arn, selector: reference.selector))
        guard let key = reference.key else { return raw }
        return try Self.field(key, of: raw, arn: reference.arn)
    }

    private func rawValue(_ key: Key) async throws -> String {
        if let entry = cache[key], entry.expires.map({ now() < $0 }) ?? true { return entry.value }
        // Concurrent callers of one reference share one request.
        if let task = inFlight[key] { return try await task.value }
        let client = try extensionClient()
        let reference = try RuntimeReference(store: key.store, arn: key.arn, selector: key.selector)
        let task = Task { try await client.fetch(reference) }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        let value = try await task.value
        cache[key] = Entry(value: value, expires: key.selector.followsRotation ? now().addingTimeInterval(configuration.ttl) : nil)
        return value
    }

    private func extensionClient() throws -> ParametersSecretsExtension {
        guard let token = environment["AWS_SESSION_TOKEN"], !token.isEmpty else { throw SecretsRuntimeError.noSessionToken }
        let port = environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"].flatMap { Int($0) }.flatMap {
            (1...65535).contains($0) ? $0 : nil
        } ?? 2773
        return ParametersSecretsExtension(
            port: port, token: token, timeout: configuration.timeout,
            maximumResponseBytes: configuration.maximumResponseBytes)
    }

    /// A field of a JSON-object secret: a string as it is, a number, boolean or nested value as its JSON
    /// text (the rule `${secrets.NAME.KEY}` follows at render time).
    static func field(_ key: String, of raw: String, arn: String) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(raw.utf8), options: [.fragmentsAllowed]) as? [String: Any]
        else { throw SecretsRuntimeError.notJSON(arn: arn, key: key) }
        guard let field = object[key], !(field is NSNull) else { throw SecretsRuntimeError.noSuchKey(arn: arn, key: key) }
        if let text = field as? String { return text }
        let data = try JSONSerialization.data(withJSONObject: field, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
