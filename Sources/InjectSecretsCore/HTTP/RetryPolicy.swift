import Foundation

/// Retries with full-jitter exponential backoff (the AWS SDKs' standard mode), bounded both in attempts
/// and in total time, so a throttled or flapping store slows a run down but never hangs it.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: TimeInterval
    public var maxDelay: TimeInterval
    /// No new attempt starts after this much time since the first.
    public var timeLimit: TimeInterval

    public init(maxAttempts: Int = 5, baseDelay: TimeInterval = 0.1, maxDelay: TimeInterval = 20, timeLimit: TimeInterval = 120) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.timeLimit = timeLimit
    }

    public static let standard = RetryPolicy()

    public enum Decision: Sendable {
        case fail
        case retry
        /// The server said when to come back (Retry-After); still bounded by `maxDelay` and `timeLimit`.
        case retryAfter(TimeInterval)
    }

    /// The outcome of a run of attempts: the value, or the last error and how many attempts it took.
    public struct Exhausted<Failure: Error>: Error {
        public var last: Failure
        public var attempts: Int
    }

    /// Runs `operation` until it succeeds, `classify` says fail, or attempts or time run out. Returns the
    /// value and the number of attempts made.
    public func run<T>(
        _ operation: (_ attempt: Int) async throws -> T,
        classify: (Error) -> Decision
    ) async throws -> (value: T, attempts: Int) {
        let start = Date()
        var attempt = 1
        while true {
            do {
                return (try await operation(attempt), attempt)
            } catch {
                // A transport failure that another attempt cannot mend (too large, untrusted, the run's
                // deadline) ends the loop whatever the caller's classification says.
                let hopeless = (error as? HTTPTransportError).map { !$0.isRetryable } ?? false
                let decision = hopeless ? .fail : classify(error)
                var delay: TimeInterval
                switch decision {
                case .fail:
                    throw RetryFailure(underlying: error, attempts: attempt)
                case .retry:
                    let ceiling = min(maxDelay, baseDelay * pow(2, Double(attempt - 1)))
                    delay = Double.random(in: 0...1) * ceiling
                case .retryAfter(let seconds):
                    delay = min(maxDelay, max(0, seconds))
                }
                if attempt >= maxAttempts || Date().timeIntervalSince(start) + delay > timeLimit {
                    throw RetryFailure(underlying: error, attempts: attempt)
                }
                if let deadline = RunDeadline.current, delay >= deadline.remaining {
                    throw RetryFailure(underlying: error, attempts: attempt, deadline: deadline)
                }
                if delay > 0 {
                    try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
                }
                attempt += 1
            }
        }
    }
}

/// The error of the last attempt, with how many attempts were made, so a message can say it was retried.
public struct RetryFailure: Error, @unchecked Sendable {
    public var underlying: Error
    public var attempts: Int
    /// Set when the run's deadline, not the policy, stopped the retries.
    public var deadline: RunDeadline?

    public init(underlying: Error, attempts: Int, deadline: RunDeadline? = nil) {
        self.underlying = underlying
        self.attempts = attempts
        self.deadline = deadline
    }

    /// " (after N attempts)" when retried, " (... ; the run's --timeout of N s ran out)" when the deadline
    /// stopped the retries, else "".
    public var attemptsNote: String {
        var parts: [String] = []
        if attempts > 1 { parts.append("after \(attempts) attempts") }
        if let deadline { parts.append(deadline.ranOut) }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: "; ") + ")"
    }
}

/// Runs `operation` over `items` with at most `limit` at a time, keeping the order of `items`. With a
/// `pacer`, each start waits for its quota before it takes a slot: callers asleep on the quota inside
/// their slots would keep a whole slot-count's queue of waits ahead of every call, so fewer calls were
/// in flight than the quota allows.
public func boundedConcurrentMap<Item: Sendable, Output: Sendable>(
    _ items: [Item], limit: Int, pacer: CallPacer? = nil, _ operation: @escaping @Sendable (Item) async -> Output
) async -> [Output] {
    guard !items.isEmpty else { return [] }
    return await withTaskGroup(of: (Int, Output).self) { group in
        var results = [Output?](repeating: nil, count: items.count)
        var next = 0
        func start(_ index: Int) {
            let item = items[index]
            group.addTask { (index, await operation(item)) }
        }
        while next < min(limit, items.count) {
            await pacer?.admit()
            start(next)
            next += 1
        }
        for await (index, output) in group {
            results[index] = output
            if next < items.count {
                await pacer?.admit()
                start(next)
                next += 1
            }
        }
        return results.map { $0! }
    }
}
