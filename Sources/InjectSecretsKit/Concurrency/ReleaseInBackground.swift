import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Lets a thread of its own free what a run no longer needs. At fleet size (20,000 secrets) freeing the
/// manifest, the lock and the stores' answers takes tens of milliseconds that the report need not wait
/// for; a process that exits meanwhile gives the memory back all at once. Callers hand the values over
/// with `consume`, so the last reference is the one this thread drops.
package func releaseInBackground(_ values: Any...) {
    let box = ReleaseBox(values)
    startThread(yielding: true) { box.values = [] }
}

// @unchecked: after the hand-over only the releasing thread touches `values`.
private final class ReleaseBox: @unchecked Sendable {
    var values: [Any]
    init(_ values: [Any]) { self.values = values }
}

/// Runs `body` on a thread of its own. A `yielding` thread runs at a lower priority, for work that has
/// time until it is needed (freeing, drift's output comparison): on two cores it would otherwise take
/// turns with the run's own path to its first store call.
package func startThread(yielding: Bool = false, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread {
        #if canImport(Glibc)
        // On Linux a nice value belongs to the thread that sets it (`who` 0 is the calling thread).
        if yielding { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10) }
        #endif
        body()
    }
    if yielding { thread.qualityOfService = .utility }
    thread.start()
}
