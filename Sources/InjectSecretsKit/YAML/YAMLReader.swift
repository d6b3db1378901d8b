import CYAML
import Foundation

/// Bounds that make a hostile file fail fast instead of exhausting memory or the stack.
package struct YAMLLimits: Sendable {
    /// Largest file accepted, in bytes.
    package var maxBytes: Int = 64 << 20
    /// Deepest nesting of sequences and mappings.
    package var maxDepth: Int = 256
    /// Most nodes the document may stand for once every alias is expanded ("billion laughs").
    package var maxExpandedNodes: Int = 5_000_000
    /// Below `maxExpandedNodes`, the expanded document may hold at most this many nodes per byte of the
    /// file (or `expansionFloor`, for small files): without aliases a node takes at least two bytes,
    /// so this lets aliases add about as much again as the file holds, and what a run costs grows with
    /// the file, not with the product of its aliases.
    package var expandedNodesPerByte: Int = 2
    package var expansionFloor: Int = 100_000

    package init() {}

    /// The expansion bound for a file of `bytes` bytes.
    func expansionLimit(bytes: Int) -> Int {
        min(maxExpandedNodes, max(expansionFloor, expandedNodesPerByte * bytes))
    }
}

/// Reads YAML through libyaml into `YAMLNode`s with a place on every node.
package enum YAMLReader {
    /// Parses one document. Returns nil for an empty document. Errors are `InjectSecretsError.badInput`
    /// with the place in `path`.
    ///
    /// Scalars stay exactly as written (no booleans, numbers or nulls are resolved). An alias stands for
    /// the anchored node, placed where the alias is written (the nodes inside keep their own places),
    /// so a message about the value points at the use. Merge keys (`<<: *base`, `<<: [*a, *b]`) are
    /// applied: the mapping's own keys win, then earlier merged mappings win over later ones.
    package static func read(_ data: Data, path: String, limits: YAMLLimits = YAMLLimits()) throws -> YAMLNode? {
        guard data.count <= limits.maxBytes else {
            throw InjectSecretsError.badInput(
                "the file is \(data.count) bytes, more than the limit of \(limits.maxBytes) bytes",
                at: SourceLocation(path: path, line: 1, column: 1)
            )
        }
        if data.isEmpty { return nil }
        return try data.withUnsafeBytes { bytes in
            var builder = TreeBuilder(path: path, limits: limits, input: bytes)
            return try builder.parse()
        }
    }

    /// A file whose scalars are secret values could not be read. The message quotes nothing of the file
    /// (no alias or anchor name, no character, no key); `entry` is the top-level key whose entry holds
    /// the problem, when the root is a mapping and one was read.
    package struct WithheldFailure: Error, Sendable {
        package var message: String
        package var location: SourceLocation?
        package var entry: String?
    }

    /// Parses a file whose text must never reach a message (the file store, whose scalars are secret
    /// values): the same rules as `read`, but failures are `WithheldFailure`s that quote nothing. An
    /// unquoted value starting with `*` or `&` is an alias or anchor to YAML; the message says so without
    /// the name.
    package static func readWithholdingText(_ data: Data, path: String, limits: YAMLLimits = YAMLLimits()) throws(WithheldFailure) -> YAMLNode? {
        guard data.count <= limits.maxBytes else {
            throw WithheldFailure(
                message: "the file is \(data.count) bytes, more than the limit of \(limits.maxBytes) bytes",
                location: SourceLocation(path: path, line: 1, column: 1), entry: nil)
        }
        if data.isEmpty { return nil }
        let result: Result<YAMLNode?, WithheldFailure> = data.withUnsafeBytes { bytes in
            var builder = TreeBuilder(path: path, limits: limits, input: bytes)
            builder.quotesText = false
            do {
                return .success(try builder.parse())
            } catch {
                let diagnostic = (error as? InjectSecretsError)?.diagnostics.first
                return .failure(WithheldFailure(
                    message: diagnostic?.message ?? "the file is not valid YAML", location: diagnostic?.location,
                    entry: builder.currentTopLevelKey))
            }
        }
        return try result.get()
    }
}

/// Turns libyaml's event stream into a tree with an explicit stack, so the nesting of the input never
/// becomes recursion in this process.
private struct TreeBuilder {
    /// A sequence or mapping whose end event has not come yet.
    struct Frame {
        enum Kind { case sequence, mapping }

        var kind: Kind
        var location: SourceLocation
        var tag: String?
        var anchor: String?
        /// `expandedNodes` when this node started, to weigh it when it ends.
        var expandedAtStart: Int
        /// Levels of collections in this node once aliases are expanded, itself included.
        var height = 1
        var items: [YAMLNode] = []
        var pairs: [YAMLPair] = []
        /// A mapping key waiting for its value.
        var pendingKey: YAMLNode?
        var pendingKeyIsMerge = false
        /// Index in `pairs` by key text, built once a mapping outgrows a linear search for duplicates.
        var keyIndex: [String: Int]?
        /// Pairs brought in by `<<`, with the index in `pairs` where the merge key stood.
        var merges: [(position: Int, pairs: [YAMLPair])] = []
    }

    struct Anchor {
        var node: YAMLNode
        /// Nodes the anchored node stands for, aliases expanded.
        var weight: Int
        var height: Int
    }

    let path: String
    let file: SourceFile
    let limits: YAMLLimits
    let input: UnsafeRawBufferPointer
    var stack: [Frame] = []
    var anchors: [String: Anchor] = [:]
    /// Nodes of the document so far with every alias expanded: the weight of the root when it ends.
    var expandedNodes = 0
    var root: YAMLNode?
    /// False for a file whose scalars are secrets: messages then quote no name, key or character of it.
    var quotesText = true

    /// The key of the root mapping's entry being read, or the last one read.
    var currentTopLevelKey: String? {
        guard let root = stack.first, root.kind == .mapping else { return nil }
        return (root.pendingKey ?? root.pairs.last?.key)?.scalar
    }

    init(path: String, limits: YAMLLimits, input: UnsafeRawBufferPointer) {
        self.path = path
        file = SourceFile(path)
        self.limits = limits
        self.input = input
        expansionLimit = limits.expansionLimit(bytes: input.count)
    }

    let expansionLimit: Int

    mutating func parse() throws -> YAMLNode? {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            throw InjectSecretsError.badInput("out of memory while reading the YAML file", at: nil)
        }
        defer { yaml_parser_delete(parser) }
        // A manifest is UTF-8: fixing the encoding turns a UTF-16 file into an invalid UTF-8 error and keeps
        // reader error offsets in bytes of this input. With a UTF-8 byte order mark libyaml's own detection
        // skips the mark without counting it as a column.
        if !input.starts(with: [0xEF, 0xBB, 0xBF]) {
            yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        }
        yaml_parser_set_input_string(
            parser, input.baseAddress!.assumingMemoryBound(to: UInt8.self), input.count
        )

        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer { event.deallocate() }
        var documents = 0

        while true {
            // libyaml zeroes the event first, so deleting one it did not fill is harmless.
            defer { yaml_event_delete(event) }
            guard yaml_parser_parse(parser, event) == 1 else {
                throw parserError(parser.pointee)
            }

            switch event.pointee.type {
            case YAML_STREAM_START_EVENT, YAML_DOCUMENT_END_EVENT, YAML_NO_EVENT:
                break

            case YAML_STREAM_END_EVENT:
                guard let root else { return nil }
                // `---` alone is an empty document, the same as an empty file.
                if case .scalar("", .plain) = root.content, root.tag == nil { return nil }
                return root

            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw InjectSecretsError.badInput(
                        "the file holds more than one YAML document; a manifest is a single document",
                        at: place(event.pointee.start_mark)
                    )
                }

            case YAML_SCALAR_EVENT:
                let scalar = event.pointee.data.scalar
                let text = scalar.length == 0
                    ? ""
                    : String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                let node = YAMLNode(
                    .scalar(text, Self.style(scalar.style)),
                    at: place(event.pointee.start_mark),
                    tag: Self.tag(scalar.tag)
                )
                try countNodes(1, at: node.location)
                if let anchor = scalar.anchor {
                    anchors[Self.string(anchor)] = Anchor(node: node, weight: 1, height: 0)
                }
                try attach(node, height: 0)

            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let isSequence = event.pointee.type == YAML_SEQUENCE_START_EVENT
                let location = place(event.pointee.start_mark)
                guard stack.count < limits.maxDepth else {
                    throw InjectSecretsError.badInput("nesting deeper than \(limits.maxDepth) levels", at: location)
                }
                try countNodes(1, at: location)
                let anchor = isSequence ? event.pointee.data.sequence_start.anchor : event.pointee.data.mapping_start.anchor
                let tag = isSequence ? event.pointee.data.sequence_start.tag : event.pointee.data.mapping_start.tag
                stack.append(Frame(
                    kind: isSequence ? .sequence : .mapping,
                    location: location,
                    tag: Self.tag(tag),
                    anchor: anchor.map(Self.string),
                    expandedAtStart: expandedNodes - 1
                ))

            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = stack.removeLast()
                let node: YAMLNode
                switch frame.kind {
                case .sequence:
                    node = YAMLNode(.sequence(frame.items), at: frame.location, tag: frame.tag)
                case .mapping:
                    node = YAMLNode(.mapping(Self.merged(frame)), at: frame.location, tag: frame.tag)
                }
                if let anchor = frame.anchor {
                    anchors[anchor] = Anchor(node: node, weight: expandedNodes - frame.expandedAtStart, height: frame.height)
                }
                try attach(node, height: frame.height)

            case YAML_ALIAS_EVENT:
                let name = Self.string(event.pointee.data.alias.anchor)
                let location = place(event.pointee.start_mark)
                let alias = quotesText ? "alias '*\(name)'" : "an alias"
                guard let anchor = anchors[name] else {
                    if stack.contains(where: { $0.anchor == name }) {
                        throw InjectSecretsError.badInput("\(alias) refers to a node that contains it", at: location)
                    }
                    guard quotesText else {
                        throw InjectSecretsError.badInput(
                            "an unquoted value starting with '*' is an alias to YAML, and no anchor of that name comes before it; "
                                + "put the value in quotes", at: location)
                    }
                    throw InjectSecretsError.badInput(
                        "unknown alias '*\(name)'; no anchor '&\(name)' comes before it\(didYouMean(name, anchors.keys))",
                        at: location
                    )
                }
                guard stack.count + anchor.height <= limits.maxDepth else {
                    throw InjectSecretsError.badInput(
                        "nesting deeper than \(limits.maxDepth) levels once \(alias) is expanded",
                        at: location
                    )
                }
                try countNodes(anchor.weight, at: location)
                var node = anchor.node
                node.location = location
                try attach(node, height: anchor.height)

            default:
                break
            }
        }
    }

    /// Adds the weight of a node to the expanded size of the document and fails as soon as it is too big,
    /// before a "billion laughs" document can cost time or memory.
    mutating func countNodes(_ weight: Int, at location: SourceLocation) throws {
        expandedNodes += weight
        if expandedNodes > expansionLimit {
            let bound = expansionLimit == limits.maxExpandedNodes
                ? "" : " (\(limits.expandedNodesPerByte) per byte of this \(input.count)-byte file, at least \(limits.expansionFloor))"
            throw InjectSecretsError.badInput(
                "aliases expand the document to more than \(expansionLimit) nodes\(bound); "
                    + "use fewer aliases of large nodes",
                at: location
            )
        }
    }

    /// Puts a finished node into the open collection, or makes it the root.
    mutating func attach(_ node: consuming YAMLNode, height: Int) throws {
        let top = stack.count - 1
        guard top >= 0 else {
            root = node
            return
        }
        stack[top].height = max(stack[top].height, height + 1)
        switch stack[top].kind {
        case .sequence:
            stack[top].items.append(node)

        case .mapping:
            guard let key = stack[top].pendingKey.take() else {
                try acceptKey(node, frame: top)
                return
            }
            if stack[top].pendingKeyIsMerge {
                stack[top].pendingKeyIsMerge = false
                let pairs = try mergedPairs(node)
                stack[top].merges.append((stack[top].pairs.count, pairs))
            } else {
                stack[top].pairs.append(YAMLPair(key: key, value: node))
            }
        }
    }

    /// Mappings up to this many keys find duplicates by comparing keys, cheaper than hashing them.
    static let linearKeySearchLimit = 8

    mutating func acceptKey(_ key: consuming YAMLNode, frame top: Int) throws {
        guard case .scalar(let text, let style) = key.content else {
            throw InjectSecretsError.badInput("a mapping key must be a scalar, found \(key.kindName)", at: key.location)
        }
        if text == "<<", style == .plain, key.tag == nil || key.tag == "!!merge" {
            stack[top].pendingKeyIsMerge = true
            stack[top].pendingKey = key
            return
        }
        let count = stack[top].pairs.count
        var first: Int?
        if stack[top].keyIndex == nil, count < Self.linearKeySearchLimit {
            first = stack[top].pairs.firstIndex { $0.key.scalar == text }
        } else {
            if stack[top].keyIndex == nil {
                var index = [String: Int](minimumCapacity: 4 * count)
                for (position, pair) in stack[top].pairs.enumerated() {
                    if let earlier = pair.key.scalar { index[earlier] = position }
                }
                stack[top].keyIndex = index
            }
            first = stack[top].keyIndex!.updateValue(count, forKey: text)
        }
        if let first {
            throw InjectSecretsError.badInput(
                "duplicate key\(quotesText ? " '\(text)'" : ""); it is first defined at line \(stack[top].pairs[first].key.location.line)",
                at: key.location
            )
        }
        stack[top].pendingKey = key
    }

    /// The pairs a merge key brings in: from a mapping, or from a sequence of mappings in order.
    func mergedPairs(_ value: YAMLNode) throws -> [YAMLPair] {
        switch value.content {
        case .mapping(let pairs):
            return pairs
        case .sequence(let items):
            var pairs: [YAMLPair] = []
            for item in items {
                guard case .mapping(let more) = item.content else {
                    throw InjectSecretsError.badInput(
                        "a merge key '<<' takes a mapping or a sequence of mappings; this sequence holds \(item.kindName)",
                        at: item.location
                    )
                }
                pairs.append(contentsOf: more)
            }
            return pairs
        case .scalar:
            throw InjectSecretsError.badInput(
                "a merge key '<<' takes a mapping or a sequence of mappings, found \(value.kindName)", at: value.location
            )
        }
    }

    /// The mapping's pairs with merged pairs in the place of their `<<`, skipping keys the mapping defines
    /// itself or an earlier merge already brought in.
    static func merged(_ frame: Frame) -> [YAMLPair] {
        guard !frame.merges.isEmpty else { return frame.pairs }
        var seen = Set(frame.pairs.lazy.compactMap { $0.key.scalar })
        var result: [YAMLPair] = []
        result.reserveCapacity(frame.pairs.count)
        var next = 0
        for index in 0...frame.pairs.count {
            while next < frame.merges.count, frame.merges[next].position == index {
                for pair in frame.merges[next].pairs {
                    if let key = pair.key.scalar, seen.insert(key).inserted {
                        result.append(pair)
                    }
                }
                next += 1
            }
            if index < frame.pairs.count {
                result.append(frame.pairs[index])
            }
        }
        return result
    }

    func place(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: mark.line + 1, column: mark.column + 1)
    }

    static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>) -> String {
        String(cString: pointer)
    }

    /// An explicit tag as written: libyaml expands `!!str` to `tag:yaml.org,2002:str`; this gives `!!str` back.
    static func tag(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        let tag = String(cString: pointer)
        let standard = "tag:yaml.org,2002:"
        if tag.hasPrefix(standard) { return "!!" + tag.dropFirst(standard.count) }
        return tag
    }

    static func style(_ style: yaml_scalar_style_t) -> YAMLNode.ScalarStyle {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: return .literal
        case YAML_FOLDED_SCALAR_STYLE: return .folded
        default: return .plain
        }
    }

    // MARK: - libyaml errors in words a manifest author knows

    func parserError(_ parser: yaml_parser_t) -> InjectSecretsError {
        let problem = parser.problem.map { String(cString: $0) } ?? "the file is not valid YAML"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return .badInput("out of memory while reading the YAML file", at: nil)

        case YAML_READER_ERROR:
            let location = place(ofByte: parser.problem_offset)
            let value = Int(parser.problem_value)
            if problem.contains("UTF-8"), !quotesText {
                return .badInput("invalid UTF-8 in the file; save it as UTF-8", at: firstInvalidUTF8().map(place(ofByte:)) ?? location)
            }
            if problem.contains("control characters"), !quotesText {
                return .badInput("a control character is not allowed in YAML; write it as an escape in a double-quoted value", at: location)
            }
            if problem.contains("UTF-8"), let offset = firstInvalidUTF8() {
                // libyaml points at the octet it tripped on; the start of the broken sequence is clearer.
                return .badInput(
                    String(format: "invalid UTF-8 in the file (byte 0x%02X); save it as UTF-8", input[offset]),
                    at: place(ofByte: offset)
                )
            }
            if problem.contains("UTF-8") {
                return .badInput("invalid UTF-8 in the file; save it as UTF-8", at: location)
            }
            if problem.contains("control characters") {
                return .badInput(
                    String(format: "control character U+%04X is not allowed in YAML", value), at: location
                )
            }
            return .badInput(problem, at: location)

        default:
            let location = place(parser.problem_mark)
            let context = parser.context.map { String(cString: $0) }
            if problem.contains("tab character") || problem == "found character that cannot start any token"
                && character(at: parser.problem_mark) == "\t"
            {
                return .badInput("tabs are not allowed for indentation; indent with spaces", at: location)
            }
            if problem == "found character that cannot start any token" {
                let found = quotesText ? character(at: parser.problem_mark).map { "'\($0)' " } ?? "" : ""
                return .badInput(
                    "a value cannot start with the character \(found)here; put the value in quotes", at: location
                )
            }
            if problem == "found unexpected end of stream", let context, context.contains("quoted scalar") {
                return .badInput(
                    "unterminated quoted string; it opens at \(lineAndColumn(parser.context_mark))", at: location
                )
            }
            if problem == "mapping values are not allowed in this context" {
                return .badInput(
                    "unexpected ':' in a value; put the value in quotes if the ':' belongs to it", at: location
                )
            }
            guard let context else { return .badInput(problem, at: location) }
            // "while parsing a block mapping" → "in the block mapping that starts at line 1, column 1"
            var what = context
            for prefix in ["while parsing ", "while scanning "] where what.hasPrefix(prefix) {
                what = String(what.dropFirst(prefix.count))
            }
            if what.hasPrefix("a ") { what = "the " + what.dropFirst(2) }
            if what.hasPrefix("an ") { what = "the " + what.dropFirst(3) }
            return .badInput("\(problem) in \(what) that starts at \(lineAndColumn(parser.context_mark))", at: location)
        }
    }

    func lineAndColumn(_ mark: yaml_mark_t) -> String {
        "line \(mark.line + 1), column \(mark.column + 1)"
    }

    /// The offset of the first byte that does not start a valid UTF-8 sequence.
    func firstInvalidUTF8() -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = input.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let scalar): offset += scalar.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    /// The place of a byte offset: reader errors carry an offset, not a line and column. Columns count
    /// characters, as libyaml's marks do.
    func place(ofByte offset: Int) -> SourceLocation {
        let end = min(offset, input.count)
        var line = 1
        var lineStart = 0
        var index = 0
        while index < end {
            let byte = input[index]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if byte == UInt8(ascii: "\r"), index + 1 < end, input[index + 1] == UInt8(ascii: "\n") {
                    index += 1
                }
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        var column = 1
        for index in lineStart..<max(lineStart, end) where input[index] & 0xC0 != 0x80 {
            column += 1
        }
        return SourceLocation(file: file, line: line, column: column)
    }

    /// The character at a mark, found by its line and column.
    func character(at mark: yaml_mark_t) -> Character? {
        var line = 0
        var index = 0
        while line < mark.line, index < input.count {
            let byte = input[index]
            index += 1
            if byte == UInt8(ascii: "\n") {
                line += 1
            } else if byte == UInt8(ascii: "\r") {
                if index < input.count, input[index] == UInt8(ascii: "\n") { index += 1 }
                line += 1
            }
        }
        var column = 0
        while index < input.count {
            if input[index] & 0xC0 != 0x80 {
                if column == mark.column {
                    let end = min(index + 4, input.count)
                    return String(decoding: UnsafeRawBufferPointer(rebasing: input[index..<end]), as: UTF8.self).first
                }
                column += 1
            }
            index += 1
        }
        return nil
    }
}
