import InjectSecretsKit

/// How hard `deploy` and `drift --deployed` drive Lambda's control plane. Lambda allows 15 control-plane
/// calls a second per account and region (GetFunction and GetPolicy aside), and answers the rest with
/// TooManyRequestsException; the default stays under that with room for another client.
package struct LambdaPacing: Sendable {
    /// Functions in flight at once.
    package var concurrency: Int
    /// Control-plane calls a second per region, shared by all functions in flight, retries included
    /// (status polls go to GetFunction's own quota); up to one second's worth may start at once.
    package var rate: Double

    package static let defaultConcurrency = 16
    package static let defaultRate = 13.0

    package init(concurrency: Int = LambdaPacing.defaultConcurrency, rate: Double = LambdaPacing.defaultRate) {
        self.concurrency = max(1, concurrency)
        self.rate = rate
    }

    package func pacer() -> CallPacer { CallPacer(perSecond: rate) }

    /// GetFunction's quota is 100 a second; status polls stay well under it.
    package static func getFunctionPacer() -> CallPacer { CallPacer(rate: 50, burst: 50) }
}

/// A flag set once, shared by concurrent tasks (the Lambda client's "GetFunction was denied", a fleet's stop).
package actor OnceFlag {
    package private(set) var isSet = false

    package init() {}
    package func set() { isSet = true }
}
