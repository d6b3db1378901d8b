import Foundation

/// A bounded wait for a condition that something else makes true (a store's rotation function, a Lambda
/// update reaching `Successful`): checked at once, then after `first` seconds, then every `pause`
/// seconds, until it holds or `limit` seconds have passed. The condition may throw to end the wait.
package enum BoundedWait {
    package static func until(
        limit: TimeInterval, first: TimeInterval? = nil, every pause: TimeInterval = 1, _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let deadline = Date().addingTimeInterval(limit)
        var next = first ?? pause
        while true {
            if try await condition() { return true }
            if Date() >= deadline { return false }
            try? await Task.sleep(nanoseconds: UInt64(min(next, max(0.05, deadline.timeIntervalSinceNow)) * 1e9))
            next = pause
        }
    }
}
