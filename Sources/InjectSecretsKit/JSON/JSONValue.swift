import Foundation

/// A JSON value that keeps number text as written and serializes with sorted keys, so that the lock and
/// reports are byte-for-byte stable and a secret's numeric field renders exactly as stored.
package indirect enum JSONValue: Sendable, Hashable {
    case string(String)
    /// The number's text as it appeared.
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    package subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    package var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    package var object: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    package var array: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// A YAML tree as JSON; scalars stay text.
    package init(yaml node: YAMLNode) {
        switch node.content {
        case .scalar(let text, _): self = .string(text)
        case .sequence(let items): self = .array(items.map(JSONValue.init(yaml:)))
        case .mapping(let pairs):
            var members: [String: JSONValue] = [:]
            for pair in pairs { members[pair.key.scalar ?? ""] = JSONValue(yaml: pair.value) }
            self = .object(members)
        }
    }

    /// Compact, keys sorted by their UTF-8 bytes.
    package func serialized() -> String {
        var out: [UInt8] = []
        write(to: &out, indent: nil, level: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// Two-space indented, keys sorted, with a trailing newline: for files people read and diff.
    package func pretty() -> String {
        var out: [UInt8] = []
        write(to: &out, indent: "  ", level: 0)
        out.append(UInt8(ascii: "\n"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes UTF-8 into one buffer: the render record of a large manifest is thousands of members.
    private func write(to out: inout [UInt8], indent: String?, level: Int) {
        func newline(_ depth: Int) {
            guard let indent else { return }
            out.append(UInt8(ascii: "\n"))
            for _ in 0..<depth { out += indent.utf8 }
        }
        switch self {
        case .string(let text): JSONEncoderText.append(text, to: &out)
        case .number(let text): out += text.utf8
        case .bool(let flag): out += (flag ? "true" : "false").utf8
        case .null: out += "null".utf8
        case .array(let items):
            if items.isEmpty { out += "[]".utf8; return }
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1)
                item.write(to: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty { out += "{}".utf8; return }
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.sorted(by: { JSONValue.byteOrder($0.key, $1.key) }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1)
                JSONEncoderText.append(member.key, to: &out)
                out += (indent == nil ? ":" : ": ").utf8
                member.value.write(to: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out.append(UInt8(ascii: "}"))
        }
    }

    package static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

extension JSONValue {
    package struct ParseError: Error, CustomStringConvertible {
        package var offset: Int
        package var reason: String
        package var description: String { "\(reason) at byte \(offset)" }
    }

    /// Parses JSON text; nesting is bounded so hostile input cannot exhaust the stack.
    package static func parse(_ data: Data, maxDepth: Int = 256) throws -> JSONValue {
        var reader = JSONReader(data, maxDepth: maxDepth)
        let value = try reader.value()
        try reader.finish()
        return value
    }

    package static func parse(_ text: String) throws -> JSONValue {
        try parse(Data(text.utf8))
    }
}
