import InjectSecretsKit

/// A parsed `env` value: literal text and `${...}` references, each reference with its place in the
/// manifest so that an error points at the `${`.
package struct Template: Sendable, Hashable {
    package enum Segment: Sendable, Hashable {
        case literal(String)
        case reference(TemplateReference)
    }

    package var segments: [Segment]
    /// The text as written, kept for change detection (it holds no secret value).
    package var source: String

    package var references: [TemplateReference] {
        segments.compactMap { if case .reference(let r) = $0 { return r } else { return nil } }
    }

    /// Names of the secrets this template uses, by value or by `${ref.*}`: both count for the lock and drift.
    package var secretNames: [String] {
        references.compactMap {
            switch $0.kind {
            case .secret(let name, _), .runtime(let name, _, _): return name
            case .variable, .environment: return nil
            }
        }
    }

    /// Names of the secrets whose value this template needs (`${secrets.*}`, not `${ref.*}`).
    package var valueSecretNames: [String] {
        references.compactMap { if case .secret(let name, _) = $0.kind { return name } else { return nil } }
    }

    package var isLiteral: Bool { references.isEmpty }
}

package struct TemplateReference: Sendable, Hashable {
    package enum Kind: Sendable, Hashable {
        /// `${secrets.NAME}` (field nil) or `${secrets.NAME.KEY}` / `${secrets.NAME["k.e.y"]}`.
        case secret(name: String, field: String?)
        /// `${vars.NAME}`.
        case variable(String)
        /// `${env.NAME}` or `${env.NAME:-default}`.
        case environment(name: String, fallback: String?)
        /// `${ref.NAME}`, `${ref.NAME.KEY}` or `${ref.NAME["k.e.y"]}`, each optionally with `:current`: a
        /// pointer the function resolves at run time, pinned to the version render selected, or
        /// (`follows`) to the store's current one.
        case runtime(name: String, field: String?, follows: Bool)
    }

    package var kind: Kind
    package var location: SourceLocation
    /// The reference as written, `${...}` included, for messages.
    package var text: String
}

/// Parses the template language of `env` values (README, "Templates in `env` values"):
/// `${secrets.NAME}`, `${secrets.NAME.KEY}`, `${secrets.NAME["key.with.dots"]}`, the same paths under
/// `${ref.*}` (optionally ending in `:current`) as the whole value, `${vars.NAME}`, `${env.NAME}`,
/// `${env.NAME:-default}`, and `$${` for a literal `${`.
package enum TemplateParser {
    /// Where the text of a scalar starts relative to its node, so that positions inside it are exact
    /// for the common single-line plain and quoted scalars.
    package struct Origin: Sendable {
        package var location: SourceLocation
        /// 1 for a quoted scalar (the quote), 0 otherwise.
        package var columnShift: Int

        package init(location: SourceLocation, columnShift: Int = 0) {
            self.location = location
            self.columnShift = columnShift
        }

        package init(node: YAMLNode) {
            location = node.location
            switch node.content {
            case .scalar(_, .singleQuoted), .scalar(_, .doubleQuoted): columnShift = 1
            default: columnShift = 0
            }
        }

        func location(atLine lineOffset: Int, column columnOffset: Int) -> SourceLocation {
            if lineOffset == 0 {
                return SourceLocation(file: location.file, line: location.line, column: location.column + columnShift + columnOffset)
            }
            return SourceLocation(file: location.file, line: location.line + lineOffset, column: columnOffset + 1)
        }
    }

    package static func parse(_ text: String, origin: Origin) throws -> Template {
        // Most ids and many values hold no `$` at all: they are one literal, found without a copy.
        if !text.utf8.contains(UInt8(ascii: "$")) {
            return Template(segments: text.isEmpty ? [] : [.literal(text)], source: text)
        }
        // The syntax is all ASCII, so the text is scanned as UTF-8 and literal runs are copied whole;
        // columns still count Unicode scalars, as the YAML reader's do.
        var segments: [Template.Segment] = []
        var literal = ""
        let bytes = Array(text.utf8)
        var index = 0
        var runStart = 0
        var line = 0
        var lineStart = 0

        func place(_ i: Int) -> SourceLocation {
            let column = bytes[lineStart..<i].reduce(0) { count, byte in byte & 0xC0 == 0x80 ? count : count + 1 }
            return origin.location(atLine: line, column: column)
        }
        func endRun(at end: Int) {
            if end > runStart { literal += String(decoding: bytes[runStart..<end], as: UTF8.self) }
        }

        let dollar = UInt8(ascii: "$"), open = UInt8(ascii: "{"), close = UInt8(ascii: "}")
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") {
                index += 1
                line += 1
                lineStart = index
                continue
            }
            if byte == dollar, index + 1 < bytes.count {
                // `$${` is a literal `${`.
                if bytes[index + 1] == dollar, index + 2 < bytes.count, bytes[index + 2] == open {
                    endRun(at: index)
                    literal += "${"
                    index += 3
                    runStart = index
                    continue
                }
                if bytes[index + 1] == open {
                    let start = index
                    guard let end = bytes[(index + 2)...].firstIndex(of: close) else {
                        throw InjectSecretsError.badInput(
                            "unterminated '${' in template: add '}' or write '$${' for a literal '${'", at: place(start))
                    }
                    let inner = String(decoding: bytes[(index + 2)..<end], as: UTF8.self)
                    let written = "${" + inner + "}"
                    let location = place(start)
                    let kind = try parseReference(inner, written: written, at: location)
                    endRun(at: index)
                    if !literal.isEmpty {
                        segments.append(.literal(literal))
                        literal = ""
                    }
                    segments.append(.reference(TemplateReference(kind: kind, location: location, text: written)))
                    index = end + 1
                    runStart = index
                    continue
                }
            }
            index += 1
        }
        endRun(at: bytes.count)
        if !literal.isEmpty { segments.append(.literal(literal)) }
        // The function reads the whole variable as one reference, so nothing may surround it.
        if segments.count > 1, let runtime = segments.lazy.compactMap({ segment -> TemplateReference? in
            if case .reference(let reference) = segment, case .runtime = reference.kind { return reference }
            return nil
        }).first {
            throw InjectSecretsError.badInput(
                "\(runtime.text) must be the whole value: the function reads the variable as one reference; move the other text to a variable of its own",
                at: runtime.location)
        }
        return Template(segments: segments, source: text)
    }

    /// Letters, digits, `_` and `-` (letters and digits of any script).
    static func isPlainFieldName(_ field: String) -> Bool {
        let asciiWord = field.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        return asciiWord || field.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
    }

    static func parseReference(_ inner: String, written: String, at location: SourceLocation) throws -> TemplateReference.Kind {
        func fail(_ why: String) -> InjectSecretsError {
            InjectSecretsError.badInput("invalid reference '\(written)': \(why)", at: location)
        }
        let namespaces = Self.namespaces
        // Separators are ASCII: search the UTF-8 view rather than break the text into Characters.
        guard let dot = inner.utf8.firstIndex(of: UInt8(ascii: ".")) else {
            throw fail("expected secrets.NAME, ref.NAME, vars.NAME or env.NAME" + didYouMean(inner, namespaces))
        }
        let namespace = String(inner[..<dot])
        let rest = String(inner[inner.index(after: dot)...])
        switch namespace {
        case "secrets":
            let (name, field) = try parseSecretPath(rest, fail: fail)
            return .secret(name: name, field: field)
        case "ref":
            var path = rest
            let follows = path.hasSuffix(Self.followsSuffix)
            if follows { path = String(path.dropLast(Self.followsSuffix.count)) }
            let (name, field) = try parseSecretPath(path, fail: fail)
            return .runtime(name: name, field: field, follows: follows)
        case "vars":
            guard Names.isIdentifier(rest) else { throw fail("'\(rest)' is not a variable name") }
            return .variable(rest)
        case "env":
            if let separator = rest.range(of: ":-") {
                let name = String(rest[..<separator.lowerBound])
                guard Names.isEnvironmentName(name) else { throw fail("'\(name)' is not an environment variable name") }
                return .environment(name: name, fallback: String(rest[separator.upperBound...]))
            }
            guard Names.isEnvironmentName(rest) else { throw fail("'\(rest)' is not an environment variable name") }
            return .environment(name: rest, fallback: nil)
        default:
            throw fail("unknown namespace '\(namespace)'; expected secrets, ref, vars or env" + didYouMean(namespace, namespaces))
        }
    }

    static let namespaces = ["secrets", "ref", "vars", "env"]

    /// `:current` after a `${ref.*}` path: follow the store's current version at run time.
    static let followsSuffix = ":current"

    /// `NAME`, `NAME.KEY` or `NAME["k.e.y"]` (with `\"` and `\\` escapes), as `secrets.` and `ref.` write it.
    static func parseSecretPath(_ rest: String, fail: (String) -> InjectSecretsError) throws -> (name: String, field: String?) {
        let nameEnd = rest.utf8.firstIndex { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "[") } ?? rest.endIndex
        let name = String(rest[..<nameEnd])
        guard Names.isIdentifier(name) else { throw fail("'\(name)' is not a secret name") }
        let tail = rest[nameEnd...]
        if tail.isEmpty { return (name, nil) }
        if tail.first == "." {
            let field = String(tail.dropFirst())
            guard !field.isEmpty, Self.isPlainFieldName(field) else {
                throw fail("a field name after '.' takes letters, digits, '_' and '-'; write [\"\(field)\"] for other keys")
            }
            return (name, field)
        }
        guard tail.hasPrefix("[\""), tail.hasSuffix("\"]"), tail.count >= 4 else {
            throw fail("a quoted field is written [\"key\"]")
        }
        var field = ""
        var escaped = false
        for ch in tail.dropFirst(2).dropLast(2) {
            if escaped {
                field.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == "\"" {
                throw fail("a '\"' inside [\"...\"] must be written \\\"")
            } else {
                field.append(ch)
            }
        }
        if escaped { throw fail("the field ends in a lone backslash") }
        return (name, field)
    }
}
