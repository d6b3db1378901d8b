import Foundation
import InjectSecretsKit

/// The embedded default store: a YAML file of secrets, each with versions and a `current` one. For
/// demos, tests, offline work and rotation rehearsals. Read-only to `render` and `drift`.
///
/// ```yaml
/// prod/db:
///   current: "2"
///   versions:
///     "1": { user: app, password: old-value }   # a map is a JSON-object secret
///     "2": { user: app, password: new-value }
/// api-token:
///   current: v1
///   versions:
///     v1: plain-text-token                       # a string is a plain secret
///   created: { v1: "2026-03-01T12:00:00Z" }      # optional, RFC 3339: what the rotation policy judges
/// ```
package struct FileStore: SecretProvider, SecretProviderKind {
    package static let typeName = "file"
    package static let settingKeys = ["path"]

    package let name: String
    package let url: URL
    /// The path as written in the manifest, for messages.
    package let displayPath: String

    /// `path`, as written (for messages) and resolved against the manifest's folder.
    package struct Settings: Sendable {
        package var name: String
        package var url: URL
        package var displayPath: String
    }

    package static func settings(_ declaration: ProviderDeclaration) throws -> Settings {
        let settings = try ProviderSettings(declaration, allowed: settingKeys)
        let path = try settings.requiredString("path")
        return Settings(name: declaration.name, url: try settings.path("path")!, displayPath: path)
    }

    package static func make(_ settings: Settings) -> any SecretProvider {
        FileStore(name: settings.name, url: settings.url, displayPath: settings.displayPath)
    }

    package static func problems(with reference: SecretReference) -> [String] {
        if case .stage(let label) = reference.policy {
            return ["secret '\(reference.name)': version 'stage:\(label)' cannot be used: the file store has no staging labels; use 'current' or a version key"]
        }
        return []
    }

    package init(name: String, url: URL, displayPath: String) {
        self.name = name
        self.url = url
        self.displayPath = displayPath
    }

    struct Entry {
        var current: String?
        var versions: [String: YAMLNode]
        var location: SourceLocation
        /// Version key -> its `created:` time, for the versions that have one.
        var created: [String: Date] = [:]
    }

    /// Where a secret is, for messages: its id and the file.
    func path(of reference: SecretReference) -> String {
        "\(reference.id) in \(displayPath)"
    }

    /// The store file's bytes, read only once `fstat` says it is a regular file within the size limit.
    /// Failures of the whole file carry no path: each reference it fails gets its own.
    func readFile() throws -> Data {
        do {
            guard let data = try BoundedFile.read(url.path) else {
                throw ProviderFailure(.unreachable, "cannot read \(displayPath): no such file")
            }
            return data
        } catch let error as FilesystemError {
            throw ProviderFailure(.unreachable, "cannot read \(displayPath): \(error.clause)")
        }
    }

    /// Reads and checks the whole store file.
    func load() throws -> [String: Entry] {
        let data = try readFile()
        // Every scalar of the store may be a value: its messages name the file, the place and the secret
        // id, and quote nothing else of it.
        let root: YAMLNode?
        do {
            root = try YAMLReader.readWithholdingText(data, path: displayPath)
        } catch {
            let entry = error.entry.map { "in the entry of secret '\($0)': " } ?? ""
            throw ProviderFailure(.invalidResponse, entry + error.message, at: error.location)
        }
        guard let root else { return [:] }
        guard let pairs = root.mapping else {
            throw ProviderFailure(.invalidResponse, "expected a mapping of secret ids, found \(root.kindName)", at: root.location)
        }
        var entries: [String: Entry] = [:]
        for pair in pairs {
            let id = pair.key.scalar ?? ""
            guard let fields = pair.value.mapping else {
                throw ProviderFailure(.invalidResponse, "secret '\(id)' must be a mapping with 'current' and 'versions'", at: pair.value.location)
            }
            // The key is not quoted: a value indented one level too little lands here.
            for field in fields where !["current", "versions", "created"].contains(field.key.scalar ?? "") {
                throw ProviderFailure(.invalidResponse, "an unknown key in secret '\(id)'; expected 'current', 'versions' and 'created'", at: field.key.location)
            }
            var created: [String: Date] = [:]
            if let createdNode = pair.value["created"] {
                guard let datePairs = createdNode.mapping else {
                    throw ProviderFailure(.invalidResponse, "'created' of secret '\(id)' must map version keys to RFC 3339 times", at: createdNode.location)
                }
                for datePair in datePairs {
                    guard let date = datePair.value.scalar.flatMap(RFC3339.date) else {
                        throw ProviderFailure(.invalidResponse, "'created' of a version of secret '\(id)' must be an RFC 3339 time such as 2026-03-01T12:00:00Z", at: datePair.value.location)
                    }
                    created[datePair.key.scalar ?? ""] = date
                }
            }
            let current = pair.value["current"]?.scalar
            var versions: [String: YAMLNode] = [:]
            if let versionsNode = pair.value["versions"] {
                guard let versionPairs = versionsNode.mapping else {
                    throw ProviderFailure(.invalidResponse, "'versions' of secret '\(id)' must be a mapping", at: versionsNode.location)
                }
                for version in versionPairs {
                    versions[version.key.scalar ?? ""] = version.value
                }
            }
            entries[id] = Entry(current: current, versions: versions, location: pair.key.location, created: created)
        }
        return entries
    }

    /// The version a policy selects, or a failure naming the secret.
    func select(_ reference: SecretReference, in entries: [String: Entry]) -> Result<(String, YAMLNode?), ProviderFailure> {
        guard let entry = entries[reference.id] else {
            return .failure(ProviderFailure(.notFound, "no such secret in the file"))
        }
        switch reference.policy {
        case .current:
            guard let current = entry.current else {
                return .failure(ProviderFailure(.versionNotFound, "the secret has no 'current' version", at: entry.location))
            }
            return .success((current, entry.versions[current]))
        case .version(let version):
            return .success((version, entry.versions[version]))
        case .stage(let label):
            return .failure(ProviderFailure(.configuration, "the file store has no staging labels, so 'stage:\(label)' selects nothing; use a version key"))
        }
    }

    package func fetch(_ references: [SecretReference]) async -> [SecretReference: Result<FetchedSecret, ProviderFailure>] {
        let entries: [String: Entry]
        do { entries = try load() } catch let failure as ProviderFailure {
            return Dictionary(uniqueKeysWithValues: references.map { ($0, .failure(failure.during(.read, of: path(of: $0)))) })
        } catch { return [:] }
        var results: [SecretReference: Result<FetchedSecret, ProviderFailure>] = [:]
        for reference in references {
            results[reference] = select(reference, in: entries).flatMap { version, node in
                guard let node else {
                    return .failure(ProviderFailure(.versionNotFound, "version '\(version)' not found"))
                }
                guard let value = Self.value(of: node) else {
                    return .failure(ProviderFailure(.invalidResponse, "version '\(version)' is a sequence; a version is text or a mapping", at: node.location))
                }
                return .success(FetchedSecret(version: version, locator: nil, value: value))
            }.mapError { $0.during(.read, of: path(of: reference)) }
        }
        return results
    }

    package func inspect(_ queries: [VersionQuery]) async -> [Result<VersionStatus, ProviderFailure>] {
        let entries: [String: Entry]
        do { entries = try load() } catch let failure as ProviderFailure {
            return queries.map { .failure(failure.during(.inspect, of: path(of: $0.reference))) }
        } catch { return [] }
        return queries.map { query in
            select(query.reference, in: entries).map { selected, node in
                let entry = entries[query.reference.id]
                var locked: VersionStatus.LockedState?
                if let lockedVersion = query.lockedVersion {
                    locked = entry?.versions[lockedVersion] != nil ? .present : .gone(reason: "no longer in the file store")
                }
                return VersionStatus(selected: node == nil ? nil : selected, locked: locked, created: entry?.created[selected])
            }.mapError { $0.during(.inspect, of: path(of: query.reference)) }
        }
    }

    /// A string is a plain secret; a mapping is a JSON-object secret (a sequence inside becomes an array).
    static func value(of node: YAMLNode) -> SecretValue? {
        switch node.content {
        case .scalar(let text, _): return SecretValue(text)
        case .mapping: return SecretValue(JSONValue(yaml: node).serialized())
        case .sequence: return nil
        }
    }
}
