/// A YAML node with the place it starts in its file. Scalars stay text: `on`, `0755` and `1e3` are
/// never turned into booleans or numbers, because a manifest value is an environment string.
package struct YAMLNode: Sendable {
    package enum ScalarStyle: Sendable, Hashable {
        case plain
        case singleQuoted
        case doubleQuoted
        case literal
        case folded
    }

    package enum Content: Sendable {
        case scalar(String, ScalarStyle)
        case sequence([YAMLNode])
        /// Keys in document order; duplicates are rejected by the reader.
        case mapping([YAMLPair])
    }

    package var content: Content
    package var location: SourceLocation
    /// An explicit tag such as `!!str`, when the document wrote one.
    package var tag: String?

    package init(_ content: Content, at location: SourceLocation, tag: String? = nil) {
        self.content = content
        self.location = location
        self.tag = tag
    }

    package var scalar: String? {
        if case .scalar(let text, _) = content { return text }
        return nil
    }

    package var sequence: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    package var mapping: [YAMLPair]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// A plain `~`, `null`, `Null`, `NULL` or empty scalar.
    package var isNull: Bool {
        guard case .scalar(let text, .plain) = content, tag == nil else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    /// What kind of node this is, for messages ("expected a mapping, found a sequence").
    package var kindName: String {
        switch content {
        case .scalar: return isNull ? "null" : "a scalar"
        case .sequence: return "a sequence"
        case .mapping: return "a mapping"
        }
    }

    /// The value for a scalar key in a mapping.
    package subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.scalar == key }?.value
    }
}

package struct YAMLPair: Sendable {
    package var key: YAMLNode
    package var value: YAMLNode

    package init(key: YAMLNode, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}
