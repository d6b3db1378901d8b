import Foundation

/// Lets a thread of its own free what a run no longer needs. At fleet size (20,000 secrets) freeing the
/// manifest, the lock and the stores' answers takes tens of milliseconds that the report need not wait
/// for; a process that exits meanwhile gives the memory back all at once. Callers hand the values over
/// with `consume`, so the last reference is the one this thread drops.
func releaseInBackground(_ values: Any...) {
    let box = ReleaseBox(values)
    Thread { box.values = [] }.start()
}

// @unchecked: after the hand-over only the releasing thread touches `values`.
private final class ReleaseBox: @unchecked Sendable {
    var values: [Any]
    init(_ values: [Any]) { self.values = values }
}
