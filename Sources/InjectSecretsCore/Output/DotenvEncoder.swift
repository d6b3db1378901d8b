import Foundation
import InjectSecretsKit

/// `KEY="value"` lines for python-dotenv's parser (`dotenv/parser.py`, read with
/// `dotenv_values(path, interpolate=False)`).
///
/// What that parser does, and what follows from it here:
/// - It opens the file in text mode, so every CR and CRLF becomes LF before parsing: a CR or LF in a
///   value must be written as an escape, never raw.
/// - A double-quoted value is matched by `"((?:\\"|[^"])*)"` and then only `\\ \' \" \a \b \f \n \r \t \v`
///   are decoded. So every backslash is written `\\`, every `"` is `\"`, and the control characters with
///   an escape use it. Everything else (non-ASCII included) is written as is.
/// - That regular expression reads `\"` as an escaped quote wherever it sees it, so a value that *ends*
///   with a backslash cannot be double-quoted: its `\\` before the closing quote would swallow the
///   quote and run on into the next line. Such a value is written unquoted when python-dotenv reads an
///   unquoted value back unchanged (no quote first, no leading space, no ` #`, no line break, which
///   holds for a Windows path like `C:\dir\`), and is an error otherwise.
/// - Keys are shell identifiers: dotenv files are loaded into process environments.
enum DotenvEncoder {
    static func encode(_ entries: [(key: String, value: String)]) throws -> String {
        var out = ""
        for (key, value) in entries {
            try EnvironmentNames.checkIdentifier(key, .dotenv)
            try EnvironmentNames.checkNoNUL(key, value, .dotenv)
            out += key
            out += "="
            if value.unicodeScalars.last == "\\" {
                guard readsBackUnquoted(value) else {
                    throw OutputEncodingError(
                        key: key, format: .dotenv,
                        reason: "python-dotenv cannot read back a value that ends with a backslash unless it "
                            + "is also a plain single line (no leading quote or space, no ' #')")
                }
                out += value
            } else {
                out += "\""
                appendDoubleQuoted(value, to: &out)
                out += "\""
            }
            out += "\n"
        }
        return out
    }

    static func appendDoubleQuoted(_ value: String, to out: inout String) {
        // Most values need no escape at all: append them whole.
        let needsEscape = value.utf8.contains { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 < 0x20 }
        guard needsEscape else {
            out += value
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0B}": out += "\\v"
            case "\u{0C}": out += "\\f"
            default: out.unicodeScalars.append(scalar)
            }
        }
    }

    /// Whether python-dotenv's unquoted-value rule (`[^\r\n]*`, then `re.sub(r"\s+#.*", "")`, then
    /// `rstrip()`, after `=` and any blanks) gives back `value` unchanged.
    static func readsBackUnquoted(_ value: String) -> Bool {
        let scalars = Array(value.unicodeScalars)
        guard let first = scalars.first, let last = scalars.last else { return false }
        if first == "'" || first == "\"" || isPythonWhitespace(first) || isPythonWhitespace(last) { return false }
        for (index, scalar) in scalars.enumerated() {
            if scalar == "\n" || scalar == "\r" { return false }
            if scalar == "#", index > 0, isPythonWhitespace(scalars[index - 1]) { return false }
        }
        return true
    }

    /// Python's `str.isspace()` / regex `\s` for `str` patterns: Unicode white space plus the
    /// information separators U+001C...U+001F.
    static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }
}
