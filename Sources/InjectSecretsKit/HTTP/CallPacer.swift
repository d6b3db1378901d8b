import Dispatch

/// Spaces out calls to stay inside a store's per-second quota, as a token bucket: up to `burst` calls
/// start at once, then `rate` a second. A run that needs more calls than the burst slows down instead
/// of being throttled into retries it may run out of (500 batch calls at 32 in flight would ask
/// Secrets Manager for several hundred a second against a quota of 100).
package actor CallPacer {
    package let rate: Double
    package let burst: Double
    private var tokens: Double
    private var last: Double
    private let now: @Sendable () -> Double
    private let sleep: @Sendable (Double) async -> Void

    /// `now` in seconds from any fixed point, and `sleep` in seconds: the clock and the wait, injectable
    /// for tests.
    package init(
        rate: Double, burst: Double,
        now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 },
        sleep: @escaping @Sendable (Double) async -> Void = { seconds in
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        }
    ) {
        self.rate = rate
        self.burst = burst
        self.now = now
        self.sleep = sleep
        tokens = burst
        last = now()
    }

    /// `rate` calls a second after a burst of one second's whole calls, at least one (so a rate under
    /// one a second still starts its first call at once).
    package init(perSecond rate: Double) {
        self.init(rate: rate, burst: max(1, rate.rounded(.down)))
    }

    /// Returns when a call may start. Each caller takes a token at once, even one not there yet, so
    /// callers waiting together are spaced one `1/rate` apart rather than all woken at the same moment.
    package func admit() async {
        let time = now()
        tokens = min(burst, tokens + (time - last) * rate)
        last = time
        tokens -= 1
        if tokens < 0 { await sleep(-tokens / rate) }
    }

    /// Takes a token only if one is there now, without waiting: for a caller that has another way to
    /// do the work when this quota is spent (Secrets Manager reads the overflow with GetSecretValue).
    package func tryAdmit() -> Bool {
        let time = now()
        tokens = min(burst, tokens + (time - last) * rate)
        last = time
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
