import Foundation

/// A place in a file, 1-based, as compilers and editors report it.
package struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    package var file: SourceFile
    package var line: Int
    package var column: Int

    package var path: String {
        get { file.path }
        set { file = SourceFile(newValue) }
    }

    package init(path: String, line: Int, column: Int) {
        self.init(file: SourceFile(path), line: line, column: column)
    }

    package init(file: SourceFile, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    package var description: String { "\(path):\(line):\(column)" }

    package static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        if lhs.file == rhs.file { return (lhs.line, lhs.column) < (rhs.line, rhs.column) }
        return lhs.path < rhs.path
    }
}

/// A file a location is in, by its path. Every node of a manifest and everything decoded from it has a
/// location, copied with it: as a number, not a string, a copy is a plain copy where a string is an
/// atomic retain and release, which at fleet size (200,000 nodes) costs time on one thread and more on
/// two that share the string.
package struct SourceFile: Hashable, Sendable {
    private let number: Int32

    /// The file of `path`: the same path is the same file for the whole run.
    package init(_ path: String) {
        number = Self.table.number(for: path)
    }

    package var path: String { Self.table.path(of: number) }

    private static let table = Table()

    // @unchecked: the paths are read and written only under `lock` (`Synchronization.Mutex` needs
    // macOS 15; this package supports macOS 13). A run names a few files: the manifest, the stores'
    // files, the lock; the table keeps them for the run.
    private final class Table: @unchecked Sendable {
        private let lock = NSLock()
        private var paths: [String] = []
        private var numbers: [String: Int32] = [:]

        func number(for path: String) -> Int32 {
            lock.lock()
            defer { lock.unlock() }
            if let number = numbers[path] { return number }
            paths.append(path)
            numbers[path] = Int32(paths.count - 1)
            return Int32(paths.count - 1)
        }

        func path(of number: Int32) -> String {
            lock.lock()
            defer { lock.unlock() }
            return paths[Int(number)]
        }
    }
}

/// One message for the user, printed in the compiler format so SwiftPM and editors show it in place.
package struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    package enum Severity: String, Sendable, Hashable {
        case error
        case warning
        case note
    }

    package var severity: Severity
    package var message: String
    package var location: SourceLocation?

    package init(_ severity: Severity = .error, _ message: String, at location: SourceLocation? = nil) {
        self.severity = severity
        self.message = message
        self.location = location
    }

    package static func error(_ message: String, at location: SourceLocation? = nil) -> Diagnostic {
        Diagnostic(.error, message, at: location)
    }

    /// `PATH:LINE:COLUMN: error: MESSAGE`, or `error: MESSAGE` where no place is known: always one line,
    /// with the control characters of an id or a path escaped.
    package var description: String {
        if let location {
            return "\(location.description.controlCharactersEscaped): \(severity.rawValue): \(message.controlCharactersEscaped)"
        }
        return "\(severity.rawValue): \(message.controlCharactersEscaped)"
    }
}

/// What went wrong, in the terms of the exit codes (README, "Exit codes"); the executable maps each kind
/// to its code (`ToolExit`).
package enum FailureKind: Sendable, Hashable {
    /// Arguments, manifest, lock or template; nothing read from a store.
    case badInput
    /// A store failed: unreachable, refused, not found, throttled after retries.
    case storeFailure
    /// Every secret was read, but a value cannot be carried where it must go (an output format, Lambda's
    /// 4 KB, a process environment); nothing written or run.
    case unwritableValue
    /// Another run on the same manifest held the run lock for longer than the wait.
    case busy
    /// SIGINT, SIGTERM or SIGHUP stopped the run.
    case interrupted(signal: Int32)
}

/// A run that failed, with every diagnostic that explains why.
package struct InjectSecretsError: Error, Sendable, CustomStringConvertible {
    package var kind: FailureKind
    package var diagnostics: [Diagnostic]

    package init(_ kind: FailureKind, _ diagnostics: [Diagnostic]) {
        self.kind = kind
        self.diagnostics = diagnostics
    }

    package static func badInput(_ message: String, at location: SourceLocation? = nil) -> InjectSecretsError {
        InjectSecretsError(.badInput, [.error(message, at: location)])
    }

    package var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics so one run reports every problem in a file, not only the first.
package struct DiagnosticCollector: Sendable {
    package private(set) var diagnostics: [Diagnostic] = []

    package init() {}

    package var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    package mutating func error(_ message: String, at location: SourceLocation?) {
        diagnostics.append(.error(message, at: location))
    }

    package mutating func append(_ diagnostic: Diagnostic) {
        diagnostics.append(diagnostic)
    }

    package mutating func append(contentsOf other: [Diagnostic]) {
        diagnostics.append(contentsOf: other)
    }

    /// Throws every collected error at once, in file order, as bad input.
    package func throwIfErrors() throws {
        guard hasErrors else { return }
        throw InjectSecretsError(.badInput, diagnostics.sorted(by: Self.fileOrder))
    }

    package static func fileOrder(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        switch (a.location, b.location) {
        case let (l?, r?): return l < r
        case (nil, _?): return false
        case (_?, nil): return true
        case (nil, nil): return false
        }
    }
}

/// "did you mean" for a near miss: the closest candidate within a small edit distance.
///
/// Its work is bounded whatever the file: names longer than `SuggestionBudget.maxLength` get no
/// suggestion, at most `SuggestionBudget.maxCandidates` candidates are compared per word, each
/// comparison is banded to the largest distance that could be suggested, and a process-wide budget of
/// table cells stops suggesting once a hostile manifest (thousands of misspelt references against
/// thousands of names) has used it up. The errors themselves are all still reported.
package func closestMatch(to word: String, in candidates: some Sequence<String>) -> String? {
    let word = Array(word.lowercased().unicodeScalars)
    guard word.count <= SuggestionBudget.maxLength, SuggestionBudget.shared.available else { return nil }
    var best: (String, Int)?
    var compared = 0
    // Every candidate looked at costs its bytes, whether or not it is compared.
    var work = 0
    defer { SuggestionBudget.shared.spend(work) }
    for candidate in candidates {
        let bytes = candidate.utf8.count
        work += 1 + bytes
        if work > SuggestionBudget.maxWorkPerWord { break }
        // A scalar takes one to four bytes: rule out by byte count first, without decoding.
        guard bytes + 3 >= word.count, bytes <= 4 * (word.count + 3) else { continue }
        let scalars = Array(candidate.lowercased().unicodeScalars)
        let limit = max(1, min(3, scalars.count / 3))
        guard scalars.count <= SuggestionBudget.maxLength, abs(scalars.count - word.count) <= limit else { continue }
        compared += 1
        if compared > SuggestionBudget.maxCandidates { break }
        let bound = min(limit, (best?.1 ?? limit + 1) - 1)
        guard bound >= 0, let distance = boundedEditDistance(word, scalars, limit: bound) else { continue }
        best = (candidate, distance)
        if distance == 0 { break }
    }
    return best?.0
}

/// The work "did you mean" may do in one run (one process).
// @unchecked: the mutable state is private and read and written only under `lock`
// (`Synchronization.Mutex` needs macOS 15; this package supports macOS 13).
package final class SuggestionBudget: @unchecked Sendable {
    package static let shared = SuggestionBudget()
    /// Longest word or candidate compared; ids and keys are shorter.
    package static let maxLength = 64
    package static let maxCandidates = 4096
    /// Bytes of candidates one word may look through.
    package static let maxWorkPerWord = 1 << 20
    /// Table cells and candidate bytes for the whole run: a fraction of a second.
    package static let maxCells = 50_000_000

    private let lock = NSLock()
    private var cells = 0

    var available: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cells < Self.maxCells
    }

    func spend(_ count: Int) {
        lock.lock()
        cells += count
        lock.unlock()
    }
}

/// The optimal string alignment distance when it is at most `limit`, else nil: insertions, deletions,
/// substitutions and swaps of two adjacent characters each cost one, since a swap ("fiel" for "file") is
/// the most common typo. Only the band within `limit` of the diagonal is computed, and the comparison
/// stops once a whole row exceeds the limit.
func boundedEditDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], limit: Int) -> Int? {
    if abs(a.count - b.count) > limit { return nil }
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    let big = limit + 1
    let width = b.count + 1
    var previous2 = [Int](repeating: big, count: width)
    var previous = (0..<width).map { $0 <= limit ? $0 : big }
    var current = [Int](repeating: big, count: width)
    var cells = 0
    defer { SuggestionBudget.shared.spend(cells) }
    for i in 1...a.count {
        let low = max(1, i - limit), high = min(b.count, i + limit)
        for j in 0..<width { current[j] = big }
        current[0] = i <= limit ? i : big
        var rowMinimum = current[0]
        if low <= high {
            for j in low...high {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, previous2[j - 2] + 1)
                }
                current[j] = min(value, big)
                rowMinimum = min(rowMinimum, current[j])
            }
        }
        cells += width
        if rowMinimum > limit { return nil }
        (previous2, previous, current) = (previous, current, previous2)
    }
    return previous[b.count] <= limit ? previous[b.count] : nil
}

/// Appends "; did you mean 'X'?" when a candidate is close.
package func didYouMean(_ word: String, _ candidates: some Sequence<String>) -> String {
    guard let match = closestMatch(to: word, in: candidates) else { return "" }
    return "; did you mean '\(match)'?"
}
