import Foundation
import InjectSecretsKit

/// One INI file as botocore's `raw_config_parse` reads it (Python's `RawConfigParser`):
/// - `[section]` headers; section names are case-sensitive and kept as written;
/// - `key = value` or `key: value`; keys are lowercased, keys and values trimmed;
/// - whole-line comments start with `#` or `;` (after optional indentation); there are **no** inline
///   comments: `region = us-east-1 # prod` has the value `us-east-1 # prod`, as in botocore;
/// - an indented line continues the value above; a value that starts on the next line
///   (`s3 =` then indented `key = value` lines) is a nested sub-section (`services` entries use this);
/// - a duplicate section or key, a key outside a section, or a line that is none of these is an error.
/// Error messages give the file and line, never the line's text: it may hold a secret key.
struct AWSINIFile: Sendable, Equatable {
    enum Value: Sendable, Equatable {
        case text(String)
        case nested([String: String])

        var text: String? {
            if case .text(let value) = self { return value }
            return nil
        }
    }

    struct Section: Sendable, Equatable {
        var name: String
        var line: Int
        var values: [String: Value]
    }

    var path: String
    var sections: [Section]

    func section(_ name: String) -> Section? { sections.first { $0.name == name } }

    static func parse(_ text: String, path: String) throws -> AWSINIFile {
        var sections: [Section] = []
        var current: Int? = nil
        // The open value: its key, the indentation of its line, and its lines so far.
        var openKey: String? = nil
        var openIndent = 0
        var openLines: [String] = []

        func fail(_ line: Int, _ message: String) -> ProviderFailure {
            ProviderFailure(.configuration, "\(path):\(line): \(message)")
        }
        func closeValue(at line: Int) throws {
            guard let key = openKey, let index = current else { return }
            openKey = nil
            // Trailing blank lines belong to no value.
            while let last = openLines.last, last.isEmpty, openLines.count > 1 { openLines.removeLast() }
            let value: Value
            if openLines.first == "" && openLines.count > 1 {
                var nested: [String: String] = [:]
                for entry in openLines.dropFirst() where !entry.trimmingCharacters(in: .whitespaces).isEmpty {
                    guard let equals = entry.firstIndex(of: "=") else {
                        throw fail(line, "the nested settings of '\(key)' must be 'key = value' lines")
                    }
                    let name = entry[..<equals].trimmingCharacters(in: .whitespaces)
                    nested[name] = entry[entry.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                }
                value = .nested(nested)
            } else {
                value = .text(openLines.joined(separator: "\n"))
            }
            sections[index].values[key] = value
        }

        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for (offset, rawLine) in lines.enumerated() {
            let number = offset + 1
            let line = String(rawLine)
            let stripped = line.trimmingCharacters(in: .whitespaces)
            if stripped.hasPrefix("#") || stripped.hasPrefix(";") { continue }
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            if stripped.isEmpty {
                if openKey != nil { openLines.append("") }
                continue
            }
            if openKey != nil && indent > openIndent {
                openLines.append(stripped)
                continue
            }
            try closeValue(at: number)
            if stripped.hasPrefix("["), let close = stripped.lastIndex(of: "]"), close > stripped.index(after: stripped.startIndex) {
                let name = String(stripped[stripped.index(after: stripped.startIndex)..<close])
                if sections.contains(where: { $0.name == name }) {
                    throw fail(number, "section [\(name)] appears twice")
                }
                sections.append(Section(name: name, line: number, values: [:]))
                current = sections.count - 1
                continue
            }
            guard let index = current else {
                throw fail(number, "a setting comes before any [section] header")
            }
            guard let delimiter = stripped.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw fail(number, "expected '[section]' or 'key = value'")
            }
            let key = stripped[..<delimiter].trimmingCharacters(in: .whitespaces).lowercased()
            guard !key.isEmpty else { throw fail(number, "a setting has no name before '='") }
            if sections[index].values[key] != nil {
                throw fail(number, "'\(key)' is set twice in [\(sections[index].name)]")
            }
            openKey = key
            openIndent = indent
            openLines = [stripped[stripped.index(after: delimiter)...].trimmingCharacters(in: .whitespaces)]
        }
        try closeValue(at: lines.count)
        return AWSINIFile(path: path, sections: sections)
    }
}

/// A profile's settings as botocore's `session.full_config` sees them: the config file's profile,
/// with the same-named section of the credentials file laid over it key by key.
struct AWSProfile: Sendable, Equatable {
    var name: String
    var values: [String: AWSINIFile.Value]
    /// Where each key came from, for messages: "the config file /x/config [profile dev]".
    var origins: [String: String]
    /// Whether either file has the profile at all.
    var exists: Bool

    subscript(_ key: String) -> String? {
        guard let text = values[key]?.text else { return nil }
        return text
    }

    func has(_ key: String) -> Bool { values[key] != nil }

    /// "profile 'dev' (the config file /home/u/.aws/config)", naming the file that set `key`.
    func place(of key: String) -> String {
        if let origin = origins[key] { return "profile '\(name)' in \(origin)" }
        return "profile '\(name)'"
    }
}

/// `~/.aws/config` and `~/.aws/credentials` (or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE). A file
/// that does not exist is empty, as in botocore; one that cannot be parsed is a `.configuration` error.
struct AWSSharedFiles: Sendable, Equatable {
    var configPath: String
    var credentialsPath: String
    var config: AWSINIFile?
    var credentials: AWSINIFile?

    static func paths(variables: [String: String]) -> (config: String, credentials: String) {
        let config = variables["AWS_CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "~/.aws/config"
        let credentials = variables["AWS_SHARED_CREDENTIALS_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "~/.aws/credentials"
        return (expand(config, variables: variables), expand(credentials, variables: variables))
    }

    /// `~` and `~/...` against HOME, as botocore expands the paths it reads.
    static func expand(_ path: String, variables: [String: String]) -> String {
        let home = variables["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return path
    }

    static func load(variables: [String: String]) throws -> AWSSharedFiles {
        let (configPath, credentialsPath) = paths(variables: variables)
        return AWSSharedFiles(
            configPath: configPath, credentialsPath: credentialsPath,
            config: try read(configPath, what: "AWS config file"),
            credentials: try read(credentialsPath, what: "AWS shared credentials file"))
    }

    private static func read(_ path: String, what: String) throws -> AWSINIFile? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return nil
        }
        let read: Data?
        do { read = try BoundedFile.read(path, limit: BoundedFile.credentialLimit) } catch let error as FilesystemError {
            throw ProviderFailure(.configuration, "cannot read the \(what) \(path): \(error.clause)")
        }
        guard let data = read else { return nil }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ProviderFailure(.configuration, "the \(what) \(path) is not UTF-8 text")
        }
        return try AWSINIFile.parse(text, path: path)
    }

    /// The config file's sections of one kind (`profile`, `services`, `sso-session`) by name, as
    /// botocore's `build_profile_map` does: `[default]` is the profile `default`; `[profile x]` (any
    /// header starting with the kind and splitting into exactly two words) is `x`.
    func configSections(kind: String) -> [String: AWSINIFile.Section] {
        var result: [String: AWSINIFile.Section] = [:]
        for section in config?.sections ?? [] {
            if kind == "profile" && section.name == "default" {
                result["default"] = section
            } else if section.name.hasPrefix(kind), let words = try? shellSplit(section.name), words.count == 2 {
                result[words[1]] = section
            }
        }
        return result
    }

    func profileNames() -> Set<String> {
        Set(configSections(kind: "profile").keys).union((credentials?.sections ?? []).map(\.name))
    }

    func profile(_ name: String) -> AWSProfile {
        var values: [String: AWSINIFile.Value] = [:]
        var origins: [String: String] = [:]
        var exists = false
        if let section = configSections(kind: "profile")[name] {
            exists = true
            for (key, value) in section.values {
                values[key] = value
                origins[key] = "the AWS config file \(configPath) [\(section.name)]"
            }
        }
        if let section = credentials?.section(name) {
            exists = true
            for (key, value) in section.values {
                values[key] = value
                origins[key] = "the AWS shared credentials file \(credentialsPath) [\(section.name)]"
            }
        }
        return AWSProfile(name: name, values: values, origins: origins, exists: exists)
    }

    /// The config file's own profile section only (botocore's ConfigProvider reads static keys there).
    func configOnlyProfile(_ name: String) -> AWSINIFile.Section? {
        configSections(kind: "profile")[name]
    }

    /// A `[services name]` section.
    func services(_ name: String) -> AWSINIFile.Section? {
        configSections(kind: "services")[name]
    }
}

/// Splits a command line into words as Python's `shlex.split` does in POSIX mode (botocore's
/// `compat_shell_split` on Linux and macOS): whitespace separates words; single quotes keep everything
/// literally; double quotes keep everything except `\"` and `\\`; a backslash outside quotes escapes the
/// next character. Nothing is expanded: no variables, globs or `~`.
func shellSplit(_ text: String) throws -> [String] {
    enum Quote { case none, single, double }
    var words: [String] = []
    var word = ""
    var inWord = false
    var quote = Quote.none
    var characters = text.makeIterator()
    while let c = characters.next() {
        switch quote {
        case .single:
            if c == "'" { quote = .none } else { word.append(c) }
        case .double:
            if c == "\"" {
                quote = .none
            } else if c == "\\" {
                guard let next = characters.next() else { throw ShellSplitError.trailingBackslash }
                if next != "\"" && next != "\\" { word.append("\\") }
                word.append(next)
            } else {
                word.append(c)
            }
        case .none:
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                if inWord { words.append(word); word = ""; inWord = false }
            } else if c == "'" {
                quote = .single; inWord = true
            } else if c == "\"" {
                quote = .double; inWord = true
            } else if c == "\\" {
                guard let next = characters.next() else { throw ShellSplitError.trailingBackslash }
                word.append(next); inWord = true
            } else {
                word.append(c); inWord = true
            }
        }
    }
    if quote != .none { throw ShellSplitError.unclosedQuote }
    if inWord { words.append(word) }
    return words
}

enum ShellSplitError: Error, CustomStringConvertible {
    case unclosedQuote
    case trailingBackslash

    var description: String {
        switch self {
        case .unclosedQuote: return "a quotation mark is not closed"
        case .trailingBackslash: return "it ends with a backslash that escapes nothing"
        }
    }
}
