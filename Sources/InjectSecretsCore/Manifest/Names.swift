import InjectSecretsKit

/// The naming rules of the manifest, in one place so that messages and checks agree.
package enum Names {
    /// Secret, variable, provider and environment names: a letter or `_`, then letters, digits, `_`, `-`.
    package static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, isASCIILetter(first) || first == "_" else { return false }
        return text.unicodeScalars.allSatisfy { isASCIILetter($0) || isDigit($0) || $0 == "_" || $0 == "-" }
    }

    /// Function names become file names and Lambda names: letters, digits, `-`, `_`, at most 64, starting
    /// with a letter or digit, so that no name can leave the output folder.
    package static func isFunctionName(_ text: String) -> Bool {
        guard (1...64).contains(text.count), let first = text.unicodeScalars.first,
            isASCIILetter(first) || isDigit(first)
        else { return false }
        return text.unicodeScalars.allSatisfy { isASCIILetter($0) || isDigit($0) || $0 == "_" || $0 == "-" }
    }

    /// Environment variable names as POSIX shells accept them: `[A-Za-z_][A-Za-z0-9_]*`.
    package static func isEnvironmentName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, isASCIILetter(first) || first == "_" else { return false }
        return text.unicodeScalars.allSatisfy { isASCIILetter($0) || isDigit($0) || $0 == "_" }
    }

    static func isASCIILetter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
    static func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
}
