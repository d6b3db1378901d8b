import Foundation

/// Retries with full-jitter exponential backoff (the AWS SDKs' standard mode), bounded both in attempts
/// and in total time, so a throttled or flapping store slows a run down but never hangs it.
package struct RetryPolicy: Sendable {
    package var maxAttempts: Int
    package var baseDelay: TimeInterval
    package var maxDelay: TimeInterval
    /// No new attempt starts after this much time since the first.
    package var timeLimit: TimeInterval

    package init(maxAttempts: Int = 5, baseDelay: TimeInterval = 0.1, maxDelay: TimeInterval = 20, timeLimit: TimeInterval = 120) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.timeLimit = timeLimit
    }

    package static let standard = RetryPolicy()

    package enum Decision: Sendable {
        case fail
        case retry
        /// The server said when to come back (Retry-After); still bounded by `maxDelay` and `timeLimit`.
        case retryAfter(TimeInterval)
    }

    /// What a caller says about an answer: whether another attempt could get a better one. The loop
    /// decides how long to wait (the answer's `Retry-After`, else backoff) and when to stop.
    package struct Retryable: Sendable {
        /// Whether a non-2xx answer is worth another attempt.
        package var answer: @Sendable (HTTPResponse) -> Bool
        /// Whether an attempt that got no answer is made again. Never for the failures another attempt
        /// cannot mend (`HTTPTransportError.isRetryable`: too large, untrusted, the run's deadline).
        package var transportFailures: Bool
        /// How long to wait after a retried answer; nil leaves it to backoff. By default the answer's
        /// `Retry-After`; a service with a wait of its own for an answer says it here.
        package var wait: @Sendable (HTTPResponse) -> TimeInterval?
        /// Whether a 2xx answer is one the caller cannot use and asks for again. Never by default; IMDS
        /// answers 200 with an empty body while it starts, and botocore asks again.
        package var unusable: @Sendable (HTTPResponse) -> Bool

        package init(
            transportFailures: Bool = true,
            wait: @escaping @Sendable (HTTPResponse) -> TimeInterval? = { $0.retryAfter() },
            unusable: @escaping @Sendable (HTTPResponse) -> Bool = { _ in false },
            answer: @escaping @Sendable (HTTPResponse) -> Bool
        ) {
            self.answer = answer
            self.transportFailures = transportFailures
            self.wait = wait
            self.unusable = unusable
        }

        /// Whether another attempt is made after `response`.
        func retries(_ response: HTTPResponse) -> Bool {
            (200..<300).contains(response.status) ? unusable(response) : answer(response)
        }

        package init(statuses: Set<Int>, transportFailures: Bool = true) {
            self.init(transportFailures: transportFailures) { statuses.contains($0.status) }
        }

        /// Throttled and failing servers: 429, 500, 502, 503, 504, and no answer.
        package static let standard = Retryable(statuses: [429, 500, 502, 503, 504])
    }

    /// The last answer of `send`, with how many attempts it took. When `retryable` still holds for
    /// `response`, the attempts or the time (`deadline` when it was the run's) ran out.
    package struct Outcome: Sendable {
        package var response: HTTPResponse
        package var attempts: Int
        package var deadline: RunDeadline?

        /// As `RetryFailure.attemptsNote`.
        package var attemptsNote: String { RetryFailure.note(attempts: attempts, deadline: deadline) }
    }

    /// Sends through `attempt` until an answer is final (a usable 2xx, or one `retryable` refuses), or attempts or
    /// time run out, and returns the last answer: the caller reads every status in one place, retried
    /// or not. Throws `RetryFailure` when the last attempt got no answer or `attempt` threw anything else
    /// (a credential that cannot be had, an endpoint refused by policy).
    package func send(
        _ attempt: (_ attempt: Int) async throws -> HTTPResponse, retrying retryable: Retryable
    ) async throws -> Outcome {
        do {
            let (response, attempts) = try await run({ number in
                let response = try await attempt(number)
                if retryable.retries(response) {
                    throw RetriedAnswer(response: response)
                }
                return response
            }, classify: { error in
                switch error {
                case let retried as RetriedAnswer:
                    return retryable.wait(retried.response).map { .retryAfter($0) } ?? .retry
                case is HTTPTransportError:
                    return retryable.transportFailures ? .retry : .fail
                default:
                    return .fail
                }
            })
            return Outcome(response: response, attempts: attempts)
        } catch let failure as RetryFailure {
            guard let retried = failure.underlying as? RetriedAnswer else { throw failure }
            return Outcome(response: retried.response, attempts: failure.attempts, deadline: failure.deadline)
        }
    }

    /// Carries an answer from `send`'s attempt to its classification; never leaves this file.
    private struct RetriedAnswer: Error {
        var response: HTTPResponse
    }

    /// The loop itself: runs `operation` until it succeeds, `classify` says fail, or attempts or time run
    /// out. Returns the value and the number of attempts made. Callers use `send`.
    func run<T>(
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
package struct RetryFailure: Error, Sendable {
    package var underlying: Error
    package var attempts: Int
    /// Set when the run's deadline, not the policy, stopped the retries.
    package var deadline: RunDeadline?

    package init(underlying: Error, attempts: Int, deadline: RunDeadline? = nil) {
        self.underlying = underlying
        self.attempts = attempts
        self.deadline = deadline
    }

    /// " (after N attempts)" when retried, " (... ; the run's --timeout of N s ran out)" when the deadline
    /// stopped the retries, else "".
    package var attemptsNote: String { Self.note(attempts: attempts, deadline: deadline) }

    static func note(attempts: Int, deadline: RunDeadline?) -> String {
        var parts: [String] = []
        if attempts > 1 { parts.append("after \(attempts) attempts") }
        if let deadline { parts.append(deadline.ranOut) }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: "; ") + ")"
    }
}

extension RetryFailure {
    /// The loop's last error as the store failure it is, the one reading for every store and credential
    /// source: no answer is `StatusTable.noAnswer`, "cannot reach `place` (after N attempts): why"; an
    /// endpoint refused by policy is a configuration failure; a `ProviderFailure` thrown by an attempt
    /// (a credential that cannot be had) is kept as it is. `lead` starts the detail ("vault login: ",
    /// the credential source); `hiding` are the tokens or keys the request carried, which a transport
    /// error may quote.
    package func providerFailure(
        reaching place: String, lead: String = "", hiding hidden: [String?] = []
    ) -> ProviderFailure {
        func scrubbed(_ text: String) -> String { RunRedactor.scrub(text, hiding: hidden) }
        switch underlying {
        case let transport as HTTPTransportError:
            return ProviderFailure(
                StatusTable.noAnswer, "\(lead)cannot reach \(place)\(attemptsNote): \(scrubbed(transport.underlying))")
        case let violation as EndpointPolicy.Violation:
            return ProviderFailure(.configuration, lead + violation.message)
        case let failure as ProviderFailure:
            return failure
        default:
            return ProviderFailure(.unreachable, "\(lead)\(scrubbed(String(describing: underlying)))\(attemptsNote)")
        }
    }
}

extension HTTPResponse {
    /// `Retry-After` in seconds from either of its forms, delta-seconds or an HTTP date (RFC 9110
    /// §10.2.3); nil when absent or unreadable. A date in the past is 0.
    package func retryAfter(now: Date = Date()) -> TimeInterval? {
        guard let text = header("Retry-After")?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Double(text), seconds.isFinite { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}

/// Runs `operation` over `items` with at most `limit` at a time, keeping the order of `items`. With a
/// `pacer`, each start waits for its quota before it takes a slot: callers asleep on the quota inside
/// their slots would keep a whole slot-count's queue of waits ahead of every call, so fewer calls were
/// in flight than the quota allows.
package func boundedConcurrentMap<Item: Sendable, Output: Sendable>(
    _ items: [Item], limit: Int, pacer: CallPacer? = nil, _ operation: @escaping @Sendable (Item) async -> Output
) async -> [Output] {
    var results = [Output?](repeating: nil, count: items.count)
    await boundedConcurrentForEach(items, limit: limit, pacer: pacer, operation) { index, output in results[index] = output }
    return results.map { $0! }
}

/// `boundedConcurrentMap`, handing each output to `each` (on the caller's task) as it arrives, with the
/// index of its item: a caller folding thousands of answers together does it while later calls are
/// still out, not all after the last.
package func boundedConcurrentForEach<Item: Sendable, Output: Sendable>(
    _ items: [Item], limit: Int, pacer: CallPacer? = nil, _ operation: @escaping @Sendable (Item) async -> Output,
    each: (Int, Output) -> Void
) async {
    guard !items.isEmpty else { return }
    await withTaskGroup(of: (Int, Output).self) { group in
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
            if next < items.count {
                await pacer?.admit()
                start(next)
                next += 1
            }
            each(index, output)
        }
    }
}
