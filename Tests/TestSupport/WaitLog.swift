/// The waits a paced provider asked for: give a `CallPacer` `sleep: { await log.add($0) }` and a clock
/// that stands still, and every call it admits past its burst is one entry, without any real wait.
public actor WaitLog {
    public private(set) var seconds: [Double] = []
    public init() {}
    public func add(_ wait: Double) { seconds.append(wait) }
}
