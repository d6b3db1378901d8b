import Foundation

extension String {
    /// The text with every control character (C0, DEL, C1, and the Unicode line and paragraph
    /// separators) written as a visible escape: `\n`, `\r`, `\t`, `\u{1B}`. Text from a manifest or a
    /// store printed this way cannot start a new line (a `::stop-commands::` workflow command on a CI
    /// runner), move the cursor or clear the terminal.
    package var controlCharactersEscaped: String {
        guard unicodeScalars.contains(where: Self.isControl) else { return self }
        var out = ""
        out.reserveCapacity(utf8.count + 8)
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where Self.isControl(scalar): out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }
}

/// How text that comes from outside (a store's error message, an identity provider's answer) is put into
/// one of our messages: the first non-empty line, control characters escaped, at most `maxCharacters`.
/// The one home for this rule, so that every store relays the same bounded shape.
package enum RelayedText {
    package static let maxCharacters = 200

    /// `text` as one bounded line, or "" when it has no visible content.
    package static func line(_ text: String) -> String {
        let first = text.split(whereSeparator: \.isNewline).lazy
            .map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? ""
        let escaped = first.controlCharactersEscaped
        return escaped.count > maxCharacters ? String(escaped.prefix(maxCharacters)) + "..." : escaped
    }
}

/// Every secret value read and every credential used in a run, so that a message can be scrubbed of them
/// whatever quoted them (a store echoing a request, an error naming a token). Applied where the engine
/// turns store failures into messages; a shorter text than `minimumLength` is not searched for, since it
/// would match ordinary words.
// @unchecked: the mutable state is private and read and written only under `lock`
// (`Synchronization.Mutex` needs macOS 15; this package supports macOS 13).
package final class RunRedactor: @unchecked Sendable {
    package static let replacement = "<redacted>"
    static let minimumLength = 4

    private let lock = NSLock()
    // Longest first, so that a value containing another is replaced whole.
    private var texts: [String] = []
    private var known: Set<String> = []

    package init() {}

    /// Remembers `texts` (values, tokens, keys) to be replaced in every later `scrub`.
    package func remember(_ texts: some Sequence<String>) {
        lock.lock()
        defer { lock.unlock() }
        var added = false
        for text in texts where text.count >= Self.minimumLength && known.insert(text).inserted {
            self.texts.append(text)
            added = true
        }
        if added { self.texts.sort { $0.utf8.count > $1.utf8.count } }
    }

    /// A secret value, and for a JSON-object secret each of its string and number fields, since a store
    /// may quote a field alone.
    package func remember(value: SecretValue) {
        remember(values: [value])
    }

    /// Many values at once: the list is sorted once for all of them, not once per value (20,000 values
    /// one by one spent seconds sorting).
    package func remember(values: some Sequence<SecretValue>) {
        var texts: [String] = []
        for value in values {
            texts.append(value.text)
            if let object = try? JSONValue.parse(Data(value.text.utf8)) { texts += object.leafTexts }
        }
        remember(texts)
    }

    /// The credentials this process was given in its environment: whatever a store or issuer echoes of
    /// them is replaced too.
    package func remember(credentialsIn environment: [String: String]) {
        remember(Self.credentialVariables.compactMap { environment[$0] })
    }

    /// Variables that hold a credential in the stores' own tools (the AWS CLI, the Vault CLI, the Azure
    /// CLI, GitHub's OIDC request).
    static let credentialVariables = [
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "VAULT_TOKEN",
        "AZURE_CLIENT_SECRET", "IDENTITY_HEADER", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ]

    /// A store failure with every remembered text removed from each of its parts.
    package func scrub(_ failure: ProviderFailure) -> ProviderFailure {
        var failure = failure
        failure.detail = scrub(failure.detail)
        failure.path = failure.path.map(scrub)
        failure.relay(failure.relayed.map(scrub))
        return failure
    }

    package func scrub(_ text: String) -> String {
        lock.lock()
        let texts = self.texts
        lock.unlock()
        var text = text
        for secret in texts where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: Self.replacement)
        }
        return text
    }
}

extension JSONValue {
    /// The text of every string and number inside, at any depth.
    var leafTexts: [String] {
        switch self {
        case .string(let text), .number(let text): return [text]
        case .array(let items): return items.flatMap(\.leafTexts)
        case .object(let members): return members.values.flatMap(\.leafTexts)
        default: return []
        }
    }
}

extension RunRedactor {
    /// `text` with each of `secrets` replaced by `<redacted>`: for what a transport, a credential endpoint
    /// or a child process wrote, which a message is about to quote.
    package static func scrub(_ text: String, hiding secrets: [String?]) -> String {
        let redactor = RunRedactor()
        redactor.remember(secrets.compactMap { $0 })
        return redactor.scrub(text)
    }
}
