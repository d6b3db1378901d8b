import Foundation

/// A place in a file, 1-based, as compilers and editors report it.
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var column: Int

    public init(path: String, line: Int, column: Int) {
        self.path = path
        self.line = line
        self.column = column
    }

    public var description: String { "\(path):\(line):\(column)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.path, lhs.line, lhs.column) < (rhs.path, rhs.line, rhs.column)
    }
}

/// One message for the user, printed in the compiler format so SwiftPM and editors show it in place.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
        case note
    }

    public var severity: Severity
    public var message: String
    public var location: SourceLocation?

    public init(_ severity: Severity = .error, _ message: String, at location: SourceLocation? = nil) {
        self.severity = severity
        self.message = message
        self.location = location
    }

    public static func error(_ message: String, at location: SourceLocation? = nil) -> Diagnostic {
        Diagnostic(.error, message, at: location)
    }

    /// `PATH:LINE:COLUMN: error: MESSAGE`, or `error: MESSAGE` where no place is known.
    public var description: String {
        let lines = message.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: " ")
        if let location {
            return "\(location): \(severity.rawValue): \(lines)"
        }
        return "\(severity.rawValue): \(lines)"
    }
}

/// What went wrong, in the terms of the exit codes of the spec.
public enum FailureKind: Sendable, Hashable {
    /// Arguments, manifest, lock or template: exit 2, nothing read from a store.
    case badInput
    /// A store failed: unreachable, refused, not found, throttled after retries: exit 3.
    case storeFailure
    /// Another run on the same manifest held the run lock for longer than the wait: exit 4.
    case busy
    /// SIGINT, SIGTERM or SIGHUP stopped the run: exit 128 + the signal's number.
    case interrupted(signal: Int32)
}

/// A run that failed, with every diagnostic that explains why.
public struct InjectSecretsError: Error, Sendable, CustomStringConvertible {
    public var kind: FailureKind
    public var diagnostics: [Diagnostic]

    public init(_ kind: FailureKind, _ diagnostics: [Diagnostic]) {
        self.kind = kind
        self.diagnostics = diagnostics
    }

    public static func badInput(_ message: String, at location: SourceLocation? = nil) -> InjectSecretsError {
        InjectSecretsError(.badInput, [.error(message, at: location)])
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics so one run reports every problem in a file, not only the first.
public struct DiagnosticCollector: Sendable {
    public private(set) var diagnostics: [Diagnostic] = []

    public init() {}

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    public mutating func error(_ message: String, at location: SourceLocation?) {
        diagnostics.append(.error(message, at: location))
    }

    public mutating func append(_ diagnostic: Diagnostic) {
        diagnostics.append(diagnostic)
    }

    public mutating func append(contentsOf other: [Diagnostic]) {
        diagnostics.append(contentsOf: other)
    }

    /// Throws every collected error at once, in file order, as bad input.
    public func throwIfErrors() throws {
        guard hasErrors else { return }
        throw InjectSecretsError(.badInput, diagnostics.sorted(by: Self.fileOrder))
    }

    static func fileOrder(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        switch (a.location, b.location) {
        case let (l?, r?): return l < r
        case (nil, _?): return false
        case (_?, nil): return true
        case (nil, nil): return false
        }
    }
}

/// "did you mean" for a near miss: the closest candidate within a small edit distance.
public func closestMatch(to word: String, in candidates: some Sequence<String>) -> String? {
    var best: (String, Int)?
    for candidate in candidates {
        let distance = editDistance(word.lowercased(), candidate.lowercased())
        let limit = max(1, min(3, candidate.count / 3))
        if distance <= limit, best == nil || distance < best!.1 {
            best = (candidate, distance)
        }
    }
    return best?.0
}

/// Appends "; did you mean 'X'?" when a candidate is close.
public func didYouMean(_ word: String, _ candidates: some Sequence<String>) -> String {
    guard let match = closestMatch(to: word, in: candidates) else { return "" }
    return "; did you mean '\(match)'?"
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two adjacent
/// characters each cost one, since a swap ("fiel" for "file") is the most common typo.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { table[i][0] = i }
    for j in 0...b.count { table[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
            }
        }
    }
    return table[a.count][b.count]
}
