import Foundation
import InjectSecretsKit

/// One flat YAML map, `"KEY": "value"` per line, both double-quoted.
///
/// A double-quoted scalar on one line can carry any Unicode text once escaped, so nothing is refused.
/// Escaped: `"` and `\`; every C0 control, DEL and C1 control; the characters YAML 1.1 readers (PyYAML,
/// libyaml) treat as line breaks (U+0085, U+2028, U+2029), which would otherwise be folded; the byte
/// order mark U+FEFF; and everything else outside YAML's printable set (U+FFFE, U+FFFF). Other
/// non-ASCII text stays as UTF-8. A key longer than YAML's 1024-character limit for implicit keys is
/// written in the explicit `? KEY` / `: VALUE` form.
enum YAMLEncoder {
    static let implicitKeyLimit = 1024

    static func encode(_ entries: [(key: String, value: String)]) throws -> String {
        guard !entries.isEmpty else { return "{}\n" }
        var out = ""
        for (key, value) in entries {
            let quotedKey = quoted(key)
            if quotedKey.unicodeScalars.count >= implicitKeyLimit {
                out += "? " + quotedKey + "\n: " + quoted(value) + "\n"
            } else {
                out += quotedKey + ": " + quoted(value) + "\n"
            }
        }
        return out
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{00}": out += "\\0"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\u{0B}": out += "\\v"
            case "\u{0C}": out += "\\f"
            case "\r": out += "\\r"
            case "\u{1B}": out += "\\e"
            case "\u{85}": out += "\\N"
            case "\u{2028}": out += "\\L"
            case "\u{2029}": out += "\\P"
            default:
                if isPrintable(scalar) {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value <= 0xFF {
                    out += "\\x" + JSONEncoderText.hex2(scalar.value)
                } else {
                    out += "\\u" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
                }
            }
        }
        out += "\""
        return out
    }

    /// YAML's printable set (PyYAML's `Reader.NON_PRINTABLE` complement) minus the characters escaped
    /// above: tab, LF and CR are always escaped, as are U+0085, U+2028, U+2029 and U+FEFF.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20...0x7E: return true
        case 0xA0...0xD7FF: return scalar.value != 0x2028 && scalar.value != 0x2029
        case 0xE000...0xFFFD: return scalar.value != 0xFEFF
        case 0x10000...0x10FFFF: return true
        default: return false
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
