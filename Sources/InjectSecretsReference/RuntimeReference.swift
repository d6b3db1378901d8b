import Foundation

/// A pointer to one secret version that a function's environment holds in place of the value, and that
/// `SecretsRuntime` resolves at run time. One line, written by `render` for `${ref.NAME}` and read here:
/// this type is the grammar's only home, for both sides.
///
///     reference = "inject-secrets:ref:v1" SP store SP arn SP selector [SP "key=" field]
///     store     = "secretsmanager" / "ssm"
///     selector  = "version=" id       ; pinned: a Secrets Manager VersionId, an SSM version number
///               / "stage=" label      ; follows: a Secrets Manager staging label, an SSM parameter label
///               / "current"           ; follows (SSM only): the latest version
///     field     = 1*( %x21-24 / %x26-7E / "%" HEXDIG HEXDIG )   ; UTF-8, percent-encoded
///
/// Tokens are separated by exactly one space. ARNs, version ids and labels never contain spaces, so they
/// are written as they are; only the field is encoded (`%`, space, controls and non-ASCII bytes as `%XX`,
/// upper-case hex), and only in that one canonical form, so every reference has exactly one spelling.
/// The prefix cannot be mistaken for a value a user would keep in a variable: it names this tool, its
/// purpose and the grammar's version, and a variable that starts with it but does not parse is an error,
/// never a plain value.
public struct RuntimeReference: Hashable, Sendable, CustomStringConvertible {
    public static let prefix = "inject-secrets:ref:v1"
    /// A line longer than this is refused before it is parsed (ARNs are at most 2048 characters).
    public static let maximumLength = 4096

    public enum Store: String, Sendable, CaseIterable {
        case secretsManager = "secretsmanager"
        case ssm
    }

    public enum Selector: Hashable, Sendable {
        /// An exact version: read once and cached for the life of the process.
        case version(String)
        /// A label the store moves on rotation: cached for the runtime's TTL only.
        case stage(String)
        /// SSM's latest version: cached for the runtime's TTL only.
        case current

        /// Whether the version this names can change while the function runs.
        public var followsRotation: Bool {
            if case .version = self { return false }
            return true
        }
    }

    public var store: Store
    public var arn: String
    public var selector: Selector
    /// A field of a JSON-object secret, or nil for the whole value.
    public var key: String?

    /// Checks the parts as `init(parsing:)` would, so that a formatted reference always parses back.
    public init(store: Store, arn: String, selector: Selector, key: String? = nil) throws {
        self.store = store
        self.arn = arn
        self.selector = selector
        self.key = key
        try Self.validate(store: store, arn: arn, selector: selector)
        if let key, key.isEmpty { throw RuntimeReferenceError.emptyKey }
    }

    /// Whether `text` claims to be a reference (and so must parse as one).
    public static func isReference(_ text: String) -> Bool {
        text == prefix || text.hasPrefix(prefix + " ")
    }

    public init(parsing text: String) throws {
        guard text.utf8.count <= Self.maximumLength else { throw RuntimeReferenceError.tooLong(Self.maximumLength) }
        let tokens = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard tokens.first == Self.prefix else { throw RuntimeReferenceError.notAReference }
        guard tokens.allSatisfy({ !$0.isEmpty }), !text.unicodeScalars.contains(where: Self.isControl) else {
            throw RuntimeReferenceError.malformed("tokens are separated by exactly one space, with no control characters")
        }
        guard tokens.count >= 2, let store = Store(rawValue: tokens[1]) else {
            throw RuntimeReferenceError.unknownStore(tokens.count >= 2 ? tokens[1] : "")
        }
        guard tokens.count >= 3 else { throw RuntimeReferenceError.malformed("the ARN is missing") }
        guard tokens.count >= 4 else { throw RuntimeReferenceError.missingVersion }
        let selector: Selector
        if tokens[3] == "current" {
            selector = .current
        } else if tokens[3].hasPrefix("version=") {
            selector = .version(String(tokens[3].dropFirst("version=".count)))
        } else if tokens[3].hasPrefix("stage=") {
            selector = .stage(String(tokens[3].dropFirst("stage=".count)))
        } else {
            throw RuntimeReferenceError.missingVersion
        }
        var key: String?
        if tokens.count >= 5 {
            guard tokens.count == 5, tokens[4].hasPrefix("key=") else {
                throw RuntimeReferenceError.malformed("after the version only `key=FIELD` may follow")
            }
            key = try Self.decodeKey(String(tokens[4].dropFirst("key=".count)))
        }
        try self.init(store: store, arn: tokens[2], selector: selector, key: key)
    }

    /// The one line `render` writes into the environment.
    public var description: String {
        var parts = [Self.prefix, store.rawValue, arn]
        switch selector {
        case .version(let id): parts.append("version=" + id)
        case .stage(let label): parts.append("stage=" + label)
        case .current: parts.append("current")
        }
        if let key { parts.append("key=" + Self.encodeKey(key)) }
        return parts.joined(separator: " ")
    }

    // MARK: rules

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F
    }

    private static func validate(store: Store, arn: String, selector: Selector) throws {
        // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, the resource keeping any further colons.
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        let service = store == .secretsManager ? "secretsmanager" : "ssm"
        let resourcePrefix = store == .secretsManager ? "secret:" : "parameter/"
        guard parts.count == 6, parts[0] == "arn", ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"].contains(parts[1]),
            parts[2] == service, isRegion(parts[3]), parts[4].count == 12, parts[4].allSatisfy(isDigit),
            parts[5].hasPrefix(resourcePrefix), parts[5].count > resourcePrefix.count,
            arn.utf8.count <= 2048, arn.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else {
            throw RuntimeReferenceError.badARN(arn, expected: "arn:aws:\(service):REGION:ACCOUNT:\(resourcePrefix)NAME")
        }
        switch (store, selector) {
        case (.secretsManager, .version(let id)):
            // Secrets Manager VersionId: 32 to 64 characters (a UUID when the service makes it up).
            guard (32...64).contains(id.count), id.allSatisfy({ isDigit($0) || isLetter($0) || $0 == "-" }) else {
                throw RuntimeReferenceError.badVersion(id, "a Secrets Manager VersionId (32 to 64 letters, digits, dashes)")
            }
        case (.ssm, .version(let number)):
            guard let value = Int(number), value >= 1, String(value) == number else {
                throw RuntimeReferenceError.badVersion(number, "an SSM version number (1, 2, ...)")
            }
        case (_, .stage(let label)):
            guard (1...256).contains(label.count), label.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw RuntimeReferenceError.badVersion(label, "a label of 1 to 256 visible ASCII characters")
            }
        case (.secretsManager, .current):
            throw RuntimeReferenceError.badVersion("current", "for Secrets Manager, `stage=AWSCURRENT`")
        case (.ssm, .current):
            break
        }
    }

    private static func isRegion(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy({ ("a"..."z").contains($0) || isDigit($0) || $0 == "-" })
    }

    private static func isDigit(_ character: Character) -> Bool { ("0"..."9").contains(character) }
    private static func isLetter(_ character: Character) -> Bool {
        ("a"..."z").contains(character) || ("A"..."Z").contains(character)
    }

    static func encodeKey(_ key: String) -> String {
        var out = ""
        for byte in key.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func decodeKey(_ encoded: String) throws -> String {
        var bytes: [UInt8] = []
        var iterator = Array(encoded.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { throw RuntimeReferenceError.badKeyEncoding }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        guard !bytes.isEmpty else { throw RuntimeReferenceError.emptyKey }
        guard let key = String(bytes: bytes, encoding: .utf8) else { throw RuntimeReferenceError.badKeyEncoding }
        // One spelling per key: `%41` for `A`, or lower-case hex, would make two lines name one field.
        guard encodeKey(key) == encoded else { throw RuntimeReferenceError.badKeyEncoding }
        return key
    }
}

/// Why a line is not a reference. Messages quote the ARN and the version, never a value.
public enum RuntimeReferenceError: Error, Equatable, Sendable, CustomStringConvertible {
    case notAReference
    case tooLong(Int)
    case malformed(String)
    case unknownStore(String)
    case badARN(String, expected: String)
    case missingVersion
    case badVersion(String, String)
    case emptyKey
    case badKeyEncoding

    public var description: String {
        let grammar = "`\(RuntimeReference.prefix) secretsmanager|ssm ARN version=ID|stage=LABEL|current [key=FIELD]`"
        switch self {
        case .notAReference: return "not a reference: it does not start with `\(RuntimeReference.prefix) `"
        case .tooLong(let limit): return "reference longer than \(limit) bytes"
        case .malformed(let why): return "malformed reference (\(why)); expected \(grammar)"
        case .unknownStore(let store):
            return "unknown store `\(store.prefix(40))` in reference; expected `secretsmanager` or `ssm`"
        case .badARN(let arn, let expected): return "`\(arn.prefix(2048))` is not an ARN of the form \(expected)"
        case .missingVersion:
            return "reference names no version: add `version=ID` (pinned) or `stage=LABEL` after the ARN; expected \(grammar)"
        case .badVersion(let version, let expected): return "`\(version.prefix(256))` is not \(expected)"
        case .emptyKey: return "empty `key=` in reference"
        case .badKeyEncoding:
            return "bad `key=` encoding: `%`, space, control and non-ASCII bytes are written as %XX (upper-case hex) and nothing else is"
        }
    }
}
