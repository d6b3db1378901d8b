import Foundation
import InjectSecretsKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotation on the file store: a new version is added under the next key ("3" after "2", "v4" after
/// "v3"), `current` moves to it, and the file is written again through a temporary file and a rename.
///
/// The store is YAML this tool owns, so it is re-emitted deterministically rather than edited in place:
/// secrets and versions keep their order, every key and scalar is double-quoted, nested mappings and
/// sequences are written in block style. Comments, anchors and tags are not kept.
extension FileStore: SecretWriting {
    package func write(_ reference: SecretReference, value: SecretValue, expectedCurrent: String?) async throws -> String {
        let path = self.path(of: reference)
        let data: Data
        do {
            _ = try load()  // the same checks, and the same messages, as a read
            data = try readFile()
        } catch let failure as ProviderFailure {
            throw failure.during(.write, of: path)
        }
        guard let root = try? YAMLReader.read(data, path: displayPath), var secrets = root.mapping,
            let index = secrets.firstIndex(where: { $0.key.scalar == reference.id })
        else {
            throw ProviderFailure(.notFound, "no such secret in the file; add it to the file first", operation: .write, path: path)
        }
        let entry = secrets[index].value
        let current = entry["current"]?.scalar
        if let expectedCurrent, current != expectedCurrent {
            throw ProviderFailure(
                .configuration,
                "the secret moved from version \(expectedCurrent) to \(current ?? "none") while rotating; nothing was written, run rotate again",
                operation: .write, path: path)
        }
        var versions = entry["versions"]?.mapping ?? []
        let keys = versions.compactMap(\.key.scalar)
        let next = Self.nextVersion(after: keys, current: current)
        let place = entry.location

        // The file store reads every scalar of a mapping as text, so a JSON object becomes a mapping only
        // when the current version is one and every field is text; a number, boolean or null keeps its
        // JSON type by staying JSON text, as it is in a version written as a string.
        let newNode: YAMLNode
        let currentIsMapping = versions.first(where: { $0.key.scalar == current })?.value.mapping != nil
        if currentIsMapping, let object = try? JSONValue.parse(value.text), object.object != nil, object.holdsOnlyText {
            newNode = Self.node(object, at: place)
        } else {
            newNode = YAMLNode(.scalar(value.text, .doubleQuoted), at: place)
        }
        versions.append(YAMLPair(key: YAMLNode(.scalar(next, .doubleQuoted), at: place), value: newNode))

        var fields = (entry.mapping ?? []).filter { !["current", "versions", "created"].contains($0.key.scalar ?? "") }
        fields.insert(YAMLPair(key: YAMLNode(.scalar("current", .plain), at: place), value: YAMLNode(.scalar(next, .doubleQuoted), at: place)), at: 0)
        fields.insert(YAMLPair(key: YAMLNode(.scalar("versions", .plain), at: place), value: YAMLNode(.mapping(versions), at: place)), at: 1)
        // The new version's date, so that a rotation policy can judge its age later.
        var created = entry["created"]?.mapping ?? []
        created.append(YAMLPair(key: YAMLNode(.scalar(next, .doubleQuoted), at: place), value: YAMLNode(.scalar(RFC3339.string(Date()), .doubleQuoted), at: place)))
        fields.insert(YAMLPair(key: YAMLNode(.scalar("created", .plain), at: place), value: YAMLNode(.mapping(created), at: place)), at: 2)
        secrets[index].value = YAMLNode(.mapping(fields), at: place)

        let text = Self.emit(YAMLNode(.mapping(secrets), at: root.location))
        let target = url.resolvingSymlinksInPath()
        var info = stat()
        let mode: mode_t = stat(target.path, &info) == 0 ? info.st_mode & 0o7777 : 0o600
        do {
            try AtomicFile.write(Data(text.utf8), to: target, mode: mode)
        } catch let error as InjectSecretsError {
            throw ProviderFailure(
                .unreachable, error.diagnostics.first?.message ?? "cannot write \(displayPath)", operation: .write, path: path)
        }
        return next
    }

    /// The key of the next version: one past the highest `vN` when the current one is written that way
    /// (or every key is), else one past the highest integer key.
    static func nextVersion(after keys: [String], current: String?) -> String {
        func number(_ text: Substring) -> Int? {
            !text.isEmpty && text.count < 18 && text.allSatisfy({ $0.isASCII && $0.isNumber }) ? Int(text) : nil
        }
        let integers = keys.compactMap { number($0[...]) }
        let prefixed = keys.compactMap { $0.hasPrefix("v") ? number($0.dropFirst()) : nil }
        let usesPrefix = current.map { $0.hasPrefix("v") && number($0.dropFirst()) != nil } ?? (integers.isEmpty && !prefixed.isEmpty)
        var candidate = usesPrefix ? (prefixed.max() ?? 0) + 1 : (integers.max() ?? 0) + 1
        let existing = Set(keys)
        while existing.contains(usesPrefix ? "v\(candidate)" : "\(candidate)") { candidate += 1 }
        return usesPrefix ? "v\(candidate)" : "\(candidate)"
    }

    /// A JSON value whose leaves are all strings (`holdsOnlyText`) as a YAML node, as the file store
    /// reads them back.
    static func node(_ value: JSONValue, at place: SourceLocation) -> YAMLNode {
        switch value {
        case .string(let text), .number(let text): return YAMLNode(.scalar(text, .doubleQuoted), at: place)
        case .bool(let flag): return YAMLNode(.scalar(flag ? "true" : "false", .doubleQuoted), at: place)
        case .null: return YAMLNode(.scalar("", .doubleQuoted), at: place)
        case .array(let items): return YAMLNode(.sequence(items.map { node($0, at: place) }), at: place)
        case .object(let members):
            return YAMLNode(.mapping(members.keys.sorted(by: JSONValue.byteOrder).map {
                YAMLPair(key: YAMLNode(.scalar($0, .doubleQuoted), at: place), value: node(members[$0]!, at: place))
            }), at: place)
        }
    }

    /// Block-style YAML, every key and scalar double-quoted, two spaces per level.
    static func emit(_ root: YAMLNode) -> String {
        var out = ""
        func scalarText(_ node: YAMLNode) -> String? {
            switch node.content {
            case .scalar(let text, _): return YAMLEncoder.quoted(text)
            case .mapping(let pairs) where pairs.isEmpty: return "{}"
            case .sequence(let items) where items.isEmpty: return "[]"
            default: return nil
            }
        }
        func write(_ node: YAMLNode, indent: String) {
            switch node.content {
            case .mapping(let pairs):
                for pair in pairs {
                    let key = YAMLEncoder.quoted(pair.key.scalar ?? "")
                    if let inline = scalarText(pair.value) {
                        out += "\(indent)\(key): \(inline)\n"
                    } else {
                        out += "\(indent)\(key):\n"
                        write(pair.value, indent: indent + "  ")
                    }
                }
            case .sequence(let items):
                for item in items {
                    if let inline = scalarText(item) {
                        out += "\(indent)- \(inline)\n"
                    } else {
                        out += "\(indent)-\n"
                        write(item, indent: indent + "  ")
                    }
                }
            case .scalar:
                out += indent + (scalarText(node) ?? "") + "\n"
            }
        }
        if let inline = scalarText(root) { return inline + "\n" }
        write(root, indent: "")
        return out
    }
}

extension JSONValue {
    /// Whether every leaf is a string: then a YAML mapping of text scalars carries the value exactly.
    var holdsOnlyText: Bool {
        switch self {
        case .string: return true
        case .number, .bool, .null: return false
        case .array(let items): return items.allSatisfy(\.holdsOnlyText)
        case .object(let members): return members.values.allSatisfy(\.holdsOnlyText)
        }
    }
}
