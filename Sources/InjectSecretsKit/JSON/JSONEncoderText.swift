import Foundation

/// Deterministic JSON text for flat string maps, written by hand so that the bytes never depend on a
/// Foundation version: `"` and `\` escaped, control characters as `\n`-style or `\u00XX` escapes, every
/// other character (non-ASCII included) as its UTF-8.
package enum JSONEncoderText {
    /// A JSON string literal, quotes included.
    static func string(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        append(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The one JSON string escaper of the package (JSONValue, the json and lambda outputs): appends the
    /// literal, quotes included, as UTF-8.
    static func append(_ text: String, to out: inout [UInt8]) {
        // Everything that needs an escape is ASCII, so UTF-8 bytes can be copied as they are.
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case ..<0x20: out += Array("\\u00".utf8) + [byte].lowercaseHex.utf8
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `{`, one `"KEY": "value"` member per line indented by `indent + 2` spaces, `}`; `{}` when empty.
    /// The last line has no newline at `indent > 0` so the caller can nest it; at 0 it ends with one.
    package static func object(_ entries: [(key: String, value: String)], indent: Int) -> String {
        let closing = indent == 0 ? "\n" : ""
        guard !entries.isEmpty else { return "{}" + closing }
        let pad = String(repeating: " ", count: indent + 2)
        let members = entries.map { pad + string($0.key) + ": " + string($0.value) }
        return "{\n" + members.joined(separator: ",\n") + "\n" + String(repeating: " ", count: indent) + "}" + closing
    }

    /// The compact form `{"KEY":"value",...}`, the string AWS Lambda measures against its 4 KB limit.
    package static func compactObject(_ entries: [(key: String, value: String)]) -> String {
        "{" + entries.map { string($0.key) + ":" + string($0.value) }.joined(separator: ",") + "}"
    }

    package static func hex2(_ value: UInt32) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(value >> 4) & 0xF], digits[Int(value) & 0xF]])
    }
}
