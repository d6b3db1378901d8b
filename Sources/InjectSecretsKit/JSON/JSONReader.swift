import Foundation

/// Reads JSON text one value at a time, for a file whose shape the caller knows: the lock is decoded
/// straight into its entries, without a tree of 25,000 objects in between. `JSONValue.parse` is built
/// on it, so both follow the same syntax and the same bound on nesting.
///
///     var reader = JSONReader(data)
///     guard try reader.beginObject() else { ... }
///     while let key = try reader.nextKey() { ... read or skip the value ... }
///     try reader.finish()
package struct JSONReader {
    private let bytes: [UInt8]
    private let maxDepth: Int
    private var index = 0
    /// Objects and arrays begun and not yet ended.
    private var depth = 0
    /// Whether the container just begun has had no member or item yet.
    private var atFirst = false

    package init(_ data: Data, maxDepth: Int = 256) {
        bytes = [UInt8](data)
        self.maxDepth = maxDepth
    }

    /// The kind of the next value, without reading it.
    package enum Kind { case object, array, string, other }

    package mutating func peek() throws -> Kind {
        skipSpace()
        guard index < bytes.count else { throw fail("unexpected end of JSON") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        default: return .other
        }
    }

    /// Enters the object that comes next; false (reading nothing) when the next value is not one.
    package mutating func beginObject() throws -> Bool {
        guard try peek() == .object else { return false }
        try enter()
        return true
    }

    /// The key of the object's next member, whose value is read next; nil once the object has ended.
    package mutating func nextKey() throws -> String? {
        guard try more(closing: UInt8(ascii: "}"), "'}'") else { return nil }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
        let key = try readString()
        skipSpace()
        try expect(":")
        return key
    }

    /// Enters the array that comes next; false (reading nothing) when the next value is not one.
    package mutating func beginArray() throws -> Bool {
        guard try peek() == .array else { return false }
        try enter()
        return true
    }

    /// Whether the array has another item, which is read next; false once the array has ended.
    package mutating func nextItem() throws -> Bool {
        try more(closing: UInt8(ascii: "]"), "']'")
    }

    /// The next value when it is a string; any other value is skipped, and nil.
    package mutating func string() throws -> String? {
        guard try peek() == .string else {
            try skip()
            return nil
        }
        return try readString()
    }

    /// The next value's number text when it is a number; any other value is skipped, and nil.
    package mutating func number() throws -> String? {
        guard try peek() == .other, bytes[index] == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
        else {
            try skip()
            return nil
        }
        return try readNumber()
    }

    /// Reads past the next value, checking it as `value` does.
    package mutating func skip() throws { _ = try value() }

    /// The next value, whole.
    package mutating func value() throws -> JSONValue {
        switch try peek() {
        case .object:
            try enter()
            // Members are hashed once, when the object is complete: a dictionary grown member by
            // member rehashes each time it doubles.
            var members: [(String, JSONValue)] = []
            while let key = try nextKey() { members.append((key, try value())) }
            return .object(Dictionary(members) { _, last in last })
        case .array:
            try enter()
            var items: [JSONValue] = []
            while try nextItem() { items.append(try value()) }
            return .array(items)
        case .string:
            return .string(try readString())
        case .other:
            switch bytes[index] {
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            default: return .number(try readNumber())
            }
        }
    }

    /// Nothing but white space may follow the value read.
    package mutating func finish() throws {
        skipSpace()
        guard index == bytes.count else { throw fail("unexpected text after the JSON value") }
    }

    private mutating func enter() throws {
        guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        depth += 1
        index += 1
        atFirst = true
    }

    /// Past the separator before the next member or item: false, past `closing`, once there is none.
    private mutating func more(closing: UInt8, _ name: String) throws -> Bool {
        skipSpace()
        guard index < bytes.count else { throw fail("unexpected end of JSON") }
        if bytes[index] == closing {
            index += 1
            depth -= 1
            atFirst = false
            return false
        }
        if atFirst {
            atFirst = false
            return true
        }
        guard bytes[index] == UInt8(ascii: ",") else { throw fail("expected ',' or \(name)") }
        index += 1
        return true
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func fail(_ reason: String) -> JSONValue.ParseError { JSONValue.ParseError(offset: index, reason: reason) }

    private mutating func expect(_ literal: String) throws {
        for byte in literal.utf8 {
            guard index < bytes.count, bytes[index] == byte else { throw fail("invalid literal") }
            index += 1
        }
    }

    private mutating func readNumber() throws -> String {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        var digits = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1; digits += 1 }
        guard digits > 0 else { throw fail("invalid value") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var fraction = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1; fraction += 1 }
            guard fraction > 0 else { throw fail("invalid number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            var exponent = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1; exponent += 1 }
            guard exponent > 0 else { throw fail("invalid number") }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// The string that starts at `index` (its opening quote).
    private mutating func readString() throws -> String {
        index += 1  // opening quote
        // Runs without escapes are appended whole; most strings are one run.
        var result = ""
        var run = index
        var ascii = true
        func flush(_ end: Int) throws {
            guard end > run else { return }
            if ascii {
                result += String(decoding: bytes[run..<end], as: UTF8.self)
            } else {
                guard let text = String(validating: bytes[run..<end], as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
                result += text
            }
            ascii = true
        }
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                // A string without escapes is its one run, made at once rather than appended.
                if result.isEmpty, ascii { return String(decoding: bytes[run..<index], as: UTF8.self) }
                try flush(index)
                return result
            }
            if byte < 0x20 { throw fail("control character in a string") }
            if byte != UInt8(ascii: "\\") {
                if byte >= 0x80 { ascii = false }
                index += 1
                continue
            }
            try flush(index)
            index += 1
            guard index < bytes.count else { throw fail("unterminated escape") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): result.unicodeScalars.append("\"")
            case UInt8(ascii: "\\"): result.unicodeScalars.append("\\")
            case UInt8(ascii: "/"): result.unicodeScalars.append("/")
            case UInt8(ascii: "b"): result.unicodeScalars.append("\u{08}")
            case UInt8(ascii: "f"): result.unicodeScalars.append("\u{0C}")
            case UInt8(ascii: "n"): result.unicodeScalars.append("\n")
            case UInt8(ascii: "r"): result.unicodeScalars.append("\r")
            case UInt8(ascii: "t"): result.unicodeScalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw fail("lone surrogate in a string")
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid surrogate pair") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                result.unicodeScalars.append(scalar)
            default:
                throw fail("invalid escape")
            }
            run = index
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
            throw fail("invalid \\u escape")
        }
        index += 4
        return code
    }
}
