import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A progress line on stderr for runs that take longer than a second, only when stderr is a terminal: a
/// person waiting sees that something is happening; logs, pipes and CI get nothing.
enum Progress {
    /// Whether stderr is a terminal (tests and CI can force it off with INJECT_SECRETS_NO_PROGRESS=1).
    static var enabled: Bool {
        isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["INJECT_SECRETS_NO_PROGRESS"] == nil
    }

    /// Runs `work`; after a second, shows `label` with the elapsed time, and clears the line when done.
    static func during<T>(_ label: String, _ work: () async throws -> T) async throws -> T {
        guard enabled else { return try await work() }
        let started = Date()
        let ticker = Task.detached {
            try await Task.sleep(nanoseconds: 1_000_000_000)
            var shown = false
            while !Task.isCancelled {
                let seconds = Int(Date().timeIntervalSince(started))
                FileHandle.standardError.write(Data("\r\u{1B}[K\(label)... \(seconds)s".utf8))
                shown = true
                try? await Task.sleep(nanoseconds: 500_000_000)
            }
            if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
        do {
            let result = try await work()
            ticker.cancel()
            _ = await ticker.result
            return result
        } catch {
            ticker.cancel()
            _ = await ticker.result
            throw error
        }
    }
}
