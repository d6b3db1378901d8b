import Foundation
import InjectSecretsKit

/// A file shape that a function's environment can be rendered into.
///
/// Every format renders a flat set of variables sorted by the UTF-8 bytes of the key, one trailing
/// newline, and the same bytes for the same input. A value or key that a format's reader could not give
/// back exactly is an `OutputEncodingError`, never a silently damaged file.
package enum OutputFormat: String, CaseIterable, Sendable, Hashable {
    /// `KEY="value"` lines that python-dotenv (`dotenv_values(path, interpolate=False)`) reads back exactly.
    case dotenv
    /// `export KEY='value'` lines that `set -a; . FILE` in bash reads back exactly.
    case shell
    /// One flat JSON object of strings.
    case json
    /// `{"Variables": {...}}` for `aws lambda update-function-configuration --environment file://FILE`.
    case lambda
    /// One flat YAML map of double-quoted strings.
    case yaml
    /// `KEY=value` lines, unquoted, that `docker run --env-file` reads back exactly.
    case dockerEnv = "docker-env"
    /// `KEY="value"` lines that systemd's `EnvironmentFile=` reads back exactly.
    case systemdEnv = "systemd-env"

    /// The default file name suffix, appended to the function's name.
    package var fileSuffix: String {
        switch self {
        case .dotenv: return ".env"
        case .shell: return ".sh"
        case .json: return ".json"
        case .lambda: return ".lambda.json"
        case .yaml: return ".yaml"
        case .dockerEnv: return ".docker.env"
        case .systemdEnv: return ".systemd.env"
        }
    }

    /// Renders `variables` in this format. Throws `OutputEncodingError` (naming the key, never the value)
    /// when this format cannot carry a key or value faithfully.
    package func encode(_ variables: [String: String]) throws -> Data {
        let entries = OutputFormat.sortedEntries(variables)
        let text: String
        switch self {
        case .dotenv: text = try DotenvEncoder.encode(entries)
        case .shell: text = try ShellEncoder.encode(entries)
        case .json: text = JSONEncoderText.object(entries, indent: 0)
        case .lambda: text = try LambdaEncoder.encode(entries)
        case .yaml: text = try YAMLEncoder.encode(entries)
        case .dockerEnv: text = try DockerEnvEncoder.encode(entries)
        case .systemdEnv: text = try SystemdEnvEncoder.encode(entries)
        }
        return Data(text.utf8)
    }

    /// The entries sorted by the UTF-8 bytes of their keys, the order every format writes them in.
    /// (Swift's own `String` ordering is by Unicode canonical equivalence, not bytes.)
    static func sortedEntries(_ variables: [String: String]) -> [(key: String, value: String)] {
        variables.map { (key: $0.key, value: $0.value) }
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }
}

/// A key or value that a format cannot carry faithfully. The reason says what is wrong with it and
/// never quotes the value.
package struct OutputEncodingError: Error, Sendable, Hashable, CustomStringConvertible {
    package var key: String
    package var format: OutputFormat
    package var reason: String

    package init(key: String, format: OutputFormat, reason: String) {
        self.key = key
        self.format = format
        self.reason = reason
    }

    package var description: String {
        "variable '\(key)' cannot be written as \(format.rawValue): \(reason)"
    }
}

/// Checks shared by the formats whose readers put variables into a process environment.
enum EnvironmentNames {
    /// `[A-Za-z_][A-Za-z0-9_]*`: a name that POSIX shells accept in `export NAME=...`.
    static func isShellIdentifier(_ key: String) -> Bool {
        guard let first = key.utf8.first, first == UInt8(ascii: "_") || isASCIILetter(first) else { return false }
        return key.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isASCIILetter($0) || isASCIIDigit($0) }
    }

    static func isASCIILetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    static func isASCIIDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static func checkIdentifier(_ key: String, _ format: OutputFormat) throws {
        guard isShellIdentifier(key) else {
            throw OutputEncodingError(key: key, format: format, reason: "the name is not a shell identifier ([A-Za-z_][A-Za-z0-9_]*)")
        }
    }

    /// A process environment is a list of NUL-terminated strings: a NUL cannot be part of a value.
    static func checkNoNUL(_ key: String, _ value: String, _ format: OutputFormat) throws {
        if let problem = nulProblem(value) {
            throw OutputEncodingError(key: key, format: format, reason: problem)
        }
    }

    /// Why `value` cannot be an environment variable's value (a C string ends at a NUL), or nil. Shared
    /// by the formats meant for an environment and by `exec`.
    static func nulProblem(_ value: String) -> String? {
        value.utf8.contains(0) ? "the value contains a NUL character, which no environment variable can hold" : nil
    }
}
