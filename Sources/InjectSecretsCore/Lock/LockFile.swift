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
        let json: JSONValue
        do {
            json = try JSONValue.parse(data)
        } catch {
            throw InjectSecretsError.badInput("the lock is not valid JSON (\(error)); restore it from version control or delete it and run render", at: place)
        }
        func fail(_ why: String) -> InjectSecretsError {
            InjectSecretsError.badInput("the lock is damaged: \(why); restore it from version control or delete it and run render", at: place)
        }
        guard let top = json.object else { throw fail("expected a JSON object") }
        guard top["lockfile-version"] == .number(String(formatVersion)) else {
            throw fail("unsupported 'lockfile-version' (this tool writes \(formatVersion))")
        }
        var lock = LockFile()
        lock.base = try section(top, fail)
        for (name, value) in top["environments"]?.object ?? [:] {
            guard let object = value.object else { throw fail("environment '\(name)' is not an object") }
            lock.environments[name] = try section(object, fail)
        }
        releaseInBackground(consume json, consume top)
        return lock
    }

    private static func section(_ object: [String: JSONValue], _ fail: (String) -> InjectSecretsError) throws -> Section {
        var section = Section()
        let secrets = object["secrets"]?.object ?? [:]
        section.secrets.reserveCapacity(secrets.count)
        for (name, value) in secrets {
            guard let entry = value.object,
                let provider = entry["provider"]?.string, let type = entry["type"]?.string,
                let id = entry["id"]?.string, let policy = entry["policy"]?.string, let version = entry["version"]?.string
            else { throw fail("secret '\(name)' lacks provider, type, id, policy or version") }
            section.secrets[name] = SecretEntry(
                provider: provider, type: type, id: id, policy: policy, version: version, locator: entry["locator"]?.string)
        }
        for (name, value) in object["functions"]?.object ?? [:] {
            guard let entry = value.object,
                let secrets = entry["secrets"]?.array?.compactMap(\.string), let outputs = entry["outputs"]?.array?.compactMap(\.string)
            else { throw fail("function '\(name)' lacks secrets or outputs") }
            section.functions[name] = FunctionEntry(secrets: secrets, outputs: outputs)
        }
        return section
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
