import Foundation

/// libfaketime, for the tests that need a process whose clock says another date than the machine's:
/// a store that dates its versions, or the tool judging a version's age. Installed by scripts/bootstrap
/// (the `faketime` package).
public enum FakeTime {
    static let libraryFolders = [
        "/usr/lib/x86_64-linux-gnu/faketime", "/usr/lib/aarch64-linux-gnu/faketime", "/usr/lib/faketime",
        "/usr/local/lib/faketime", "/opt/homebrew/lib/faketime",
    ]

    /// The library's path, or nil when it is not installed.
    public static var library: String? {
        libraryFolders.map { $0 + "/libfaketime.so.1" }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The environment that makes a server read its wall clock's shift from `timestampFile` on every
    /// clock call, so that the test can move it while it runs. Its monotonic clock is left alone, so
    /// timeouts keep their real length.
    public static func environment(timestampFile: String) throws -> [String: String] {
        guard let library else {
            throw TestSupportError(try missingServer("libfaketime", install: "apt-get install faketime"))
        }
        return wallClockOnly.merging(["LD_PRELOAD": library, "FAKETIME_TIMESTAMP_FILE": timestampFile, "FAKETIME_NO_CACHE": "1"]) { $1 }
    }

    /// `executable arguments` run through the `faketime` command with the wall clock `days` ahead (or
    /// behind). A Swift executable needs the command: preloaded by hand, the library leaves it without
    /// its arguments.
    public static func command(_ executable: String, _ arguments: [String], days: Int) throws -> (String, [String]) {
        guard which("faketime") != nil else {
            throw TestSupportError(try missingServer("faketime", install: "apt-get install faketime"))
        }
        return ("faketime", ["-f", "\(days >= 0 ? "+" : "")\(days)d", executable] + arguments)
    }

    /// Under `command`, shifts only the wall clock: timeouts and retries keep their real length, and file
    /// times (which the render record compares) stay as the file system has them.
    public static let wallClockOnly = ["FAKETIME_DONT_FAKE_MONOTONIC": "1", "NO_FAKE_STAT": "1"]
}
