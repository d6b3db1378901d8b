import Foundation
import InjectSecretsKit

/// `inject-secrets.lock`: the concrete version every secret's policy selected, per environment, and what
/// each function consumed and wrote. Sorted JSON, stable byte for byte, meant to be committed. It holds
/// no secret value and nothing derived from one.
package struct LockFile: Sendable, Equatable {
    package static let formatVersion = 1

    /// What the lock knows of one secret; in the kit because a store's access policy reads it.
    package typealias SecretEntry = LockedSecret

    package struct FunctionEntry: Sendable, Equatable {
        package var secrets: [String]
        package var outputs: [String]

        package init(secrets: [String], outputs: [String]) {
            self.secrets = secrets
            self.outputs = outputs
        }
    }

    package struct Section: Sendable, Equatable {
        package var secrets: [String: SecretEntry] = [:]
        package var functions: [String: FunctionEntry] = [:]

        package init(secrets: [String: SecretEntry] = [:], functions: [String: FunctionEntry] = [:]) {
            self.secrets = secrets
            self.functions = functions
        }
    }

    /// The manifest without an environment overlay.
    package var base = Section()
    /// One section per `--environment`.
    package var environments: [String: Section] = [:]

    package init() {}

    package func section(for environment: String?) -> Section {
        guard let environment else { return base }
        return environments[environment] ?? Section()
    }

    package mutating func setSection(_ section: Section, for environment: String?) {
        if let environment { environments[environment] = section } else { base = section }
    }

    // MARK: Reading and writing

    /// Reads the lock; nil when there is none. A damaged lock is bad input with its path.
    package static func read(at url: URL, displayPath: String) throws -> LockFile? {
        let place = SourceLocation(path: displayPath, line: 1, column: 1)
        let data: Data
        do {
            guard let read = try BoundedFile.read(url.path, followLink: false) else { return nil }
            data = read
        } catch let error as FilesystemError {
            throw InjectSecretsError.badInput("cannot read the lock: \(error.naming(displayPath))", at: place)
        }
        func fail(_ why: String) -> InjectSecretsError {
            InjectSecretsError.badInput("the lock is damaged: \(why); restore it from version control or delete it and run render", at: place)
        }
        // Read straight into entries: a fleet's lock (7 MB, 25,000 objects) took three times as long through a
        // JSON tree. Malformed JSON is reported before any damage, as when the whole text was parsed first.
        // A repeated key keeps its last value, as in a JSON object: so does the damage found under it.
        var reader = JSONReader(data)
        var lock = LockFile()
        var version: String?
        var base = SectionDamage()
        var environmentDamage: [String: String] = [:]
        let isObject: Bool
        do {
            isObject = try reader.beginObject()
            if isObject {
                while let key = try reader.nextKey() {
                    switch key {
                    case "lockfile-version": version = try reader.number()
                    case "secrets": (lock.base.secrets, base.secrets) = try secrets(&reader)
                    case "functions": (lock.base.functions, base.functions) = try functions(&reader)
                    case "environments": (lock.environments, environmentDamage) = try environments(&reader)
                    default: try reader.skip()
                    }
                }
            } else {
                try reader.skip()
            }
            try reader.finish()
        } catch {
            throw InjectSecretsError.badInput("the lock is not valid JSON (\(error)); restore it from version control or delete it and run render", at: place)
        }
        guard isObject else { throw fail("expected a JSON object") }
        guard version == String(formatVersion) else {
            throw fail("unsupported 'lockfile-version' (this tool writes \(formatVersion))")
        }
        if let damage = base.first ?? environmentDamage.min(by: { $0.key < $1.key })?.value { throw fail(damage) }
        return lock
    }

    /// The `environments` object: a section per environment (anything else is none), and what is wrong
    /// with each.
    private static func environments(_ reader: inout JSONReader) throws -> ([String: Section], damage: [String: String]) {
        var environments: [String: Section] = [:]
        var damage: [String: String] = [:]
        guard try reader.beginObject() else {
            try reader.skip()
            return (environments, damage)
        }
        while let name = try reader.nextKey() {
            guard try reader.beginObject() else {
                try reader.skip()
                environments[name] = nil
                damage[name] = "environment '\(name)' is not an object"
                continue
            }
            var section = Section()
            var found = SectionDamage()
            while let key = try reader.nextKey() {
                switch key {
                case "secrets": (section.secrets, found.secrets) = try secrets(&reader)
                case "functions": (section.functions, found.functions) = try functions(&reader)
                default: try reader.skip()
                }
            }
            environments[name] = section
            damage[name] = found.first
        }
        return (environments, damage)
    }

    /// What is wrong with a section's entries, if anything.
    private struct SectionDamage {
        var secrets: String?
        var functions: String?
        var first: String? { secrets ?? functions }
    }

    /// A section's `secrets`, and what is wrong with them.
    private static func secrets(_ reader: inout JSONReader) throws -> ([String: SecretEntry], damage: String?) {
        let (secrets, damaged) = try entries(&reader) { reader -> SecretEntry? in
            guard try reader.beginObject() else {
                try reader.skip()
                return nil
            }
            var provider, type, id, policy, version, locator: String?
            while let key = try reader.nextKey() {
                switch key {
                case "provider": provider = try reader.string()
                case "type": type = try reader.string()
                case "id": id = try reader.string()
                case "policy": policy = try reader.string()
                case "version": version = try reader.string()
                case "locator": locator = try reader.string()
                default: try reader.skip()
                }
            }
            guard let provider, let type, let id, let policy, let version else { return nil }
            return SecretEntry(provider: provider, type: type, id: id, policy: policy, version: version, locator: locator)
        }
        return (secrets, damaged.map { "secret '\($0)' lacks provider, type, id, policy or version" })
    }

    /// A section's `functions`, and what is wrong with them; the lists keep only their strings.
    private static func functions(_ reader: inout JSONReader) throws -> ([String: FunctionEntry], damage: String?) {
        let (functions, damaged) = try entries(&reader) { reader -> FunctionEntry? in
            guard try reader.beginObject() else {
                try reader.skip()
                return nil
            }
            var secrets: [String]?
            var outputs: [String]?
            while let key = try reader.nextKey() {
                switch key {
                case "secrets": secrets = try strings(&reader)
                case "outputs": outputs = try strings(&reader)
                default: try reader.skip()
                }
            }
            guard let secrets, let outputs else { return nil }
            return FunctionEntry(secrets: secrets, outputs: outputs)
        }
        return (functions, damaged.map { "function '\($0)' lacks secrets or outputs" })
    }

    /// An object of named entries (anything else is none, as is a missing key), each read by `entry`,
    /// which gives nil for a damaged one. A repeated name keeps its last entry, as a JSON object does.
    /// Also the first damaged name, in name order.
    private static func entries<Entry>(
        _ reader: inout JSONReader, _ entry: (inout JSONReader) throws -> Entry?
    ) throws -> ([String: Entry], damaged: String?) {
        var entries: [String: Entry] = [:]
        var damaged: Set<String> = []
        guard try reader.beginObject() else {
            try reader.skip()
            return (entries, nil)
        }
        while let name = try reader.nextKey() {
            entries[name] = try entry(&reader)
            if entries[name] == nil { damaged.insert(name) } else { damaged.remove(name) }
        }
        return (entries, damaged.min())
    }

    /// The strings of an array; nil when the value is not an array.
    private static func strings(_ reader: inout JSONReader) throws -> [String]? {
        guard try reader.beginArray() else {
            try reader.skip()
            return nil
        }
        var strings: [String] = []
        while try reader.nextItem() {
            if let string = try reader.string() { strings.append(string) }
        }
        return strings
    }

    package func encoded() -> Data {
        var top = LockFile.json(base)
        top["lockfile-version"] = .number(String(LockFile.formatVersion))
        if !environments.isEmpty {
            top["environments"] = .object(environments.mapValues { .object(LockFile.json($0)) })
        }
        return Data(JSONValue.object(top).pretty().utf8)
    }

    private static func json(_ section: Section) -> [String: JSONValue] {
        [
            "secrets": .object(section.secrets.mapValues { entry in
                var members: [String: JSONValue] = [
                    "provider": .string(entry.provider), "type": .string(entry.type), "id": .string(entry.id),
                    "policy": .string(entry.policy), "version": .string(entry.version),
                ]
                if let locator = entry.locator { members["locator"] = .string(locator) }
                return .object(members)
            }),
            "functions": .object(section.functions.mapValues {
                .object(["secrets": .array($0.secrets.map(JSONValue.string)), "outputs": .array($0.outputs.map(JSONValue.string))])
            }),
        ]
    }
}
