import Foundation

/// Reads a provider's settings from its manifest mapping, with the place of every error, so each
/// provider checks its own keys the same way.
package struct ProviderSettings {
    package let declaration: ProviderDeclaration
    private let pairs: [YAMLPair]

    /// Checks that every key is `type` or one of `allowed`; an unknown key is an error with "did you mean".
    package init(_ declaration: ProviderDeclaration, allowed: [String]) throws {
        self.declaration = declaration
        guard let pairs = declaration.node.mapping else {
            throw InjectSecretsError.badInput(
                "provider '\(declaration.name)' must be a mapping, found \(declaration.node.kindName)",
                at: declaration.node.location)
        }
        self.pairs = pairs
        var collector = DiagnosticCollector()
        for pair in pairs {
            let key = pair.key.scalar ?? ""
            if key != "type" && !allowed.contains(key) {
                collector.error(
                    "unknown setting '\(key)' for provider '\(declaration.name)' of type '\(declaration.type)'"
                        + didYouMean(key, allowed), at: pair.key.location)
            }
        }
        try collector.throwIfErrors()
    }

    package func node(_ key: String) -> YAMLNode? {
        pairs.first { $0.key.scalar == key }?.value
    }

    /// A text setting; nil when absent or null.
    package func string(_ key: String) throws -> String? {
        guard let node = node(key), !node.isNull else { return nil }
        guard let text = node.scalar else {
            throw InjectSecretsError.badInput(
                "setting '\(key)' of provider '\(declaration.name)' must be text, found \(node.kindName)",
                at: node.location)
        }
        return text
    }

    /// A number setting above `lower` and at most `upper`, such as a rate (`0.5`, `3`, `1e2`); nil when
    /// absent or null. `unit` names what it counts, for the message that refuses anything else
    /// (including infinities and NaN).
    package func number(_ key: String, unit: String, above lower: Double, atMost upper: Double) throws -> Double? {
        guard let node = node(key), !node.isNull else { return nil }
        let text = node.scalar
        guard let number = text.flatMap({ Double($0) }), number > lower, number <= upper else {
            let found = text.map { "'\($0.controlCharactersEscaped)'" } ?? node.kindName
            throw InjectSecretsError.badInput(
                "setting '\(key)' of provider '\(declaration.name)' must be a number of \(unit) above "
                    + String(format: "%g", lower) + " and at most " + String(format: "%g", upper) + ", found \(found)",
                at: node.location)
        }
        return number
    }

    package func requiredString(_ key: String) throws -> String {
        guard let text = try string(key), !text.isEmpty else {
            throw InjectSecretsError.badInput(
                "provider '\(declaration.name)' of type '\(declaration.type)' needs '\(key)'",
                at: declaration.node.location)
        }
        return text
    }

    /// The place of a setting, or of the declaration when the setting is absent.
    package func location(of key: String) -> SourceLocation {
        node(key)?.location ?? declaration.node.location
    }

    /// A URL setting (or a fallback from the environment), checked to be HTTPS unless it is loopback.
    package func endpointURL(_ key: String, fallback: String? = nil) throws -> URL? {
        guard let text = try string(key) ?? fallback else { return nil }
        do {
            return try EndpointPolicy.checked(text)
        } catch let error as EndpointPolicy.Violation {
            throw InjectSecretsError.badInput(
                "provider '\(declaration.name)': \(error.message)", at: location(of: key))
        }
    }

    /// A path relative to the manifest's folder.
    package func path(_ key: String) throws -> URL? {
        guard let text = try string(key) else { return nil }
        return URL(fileURLWithPath: text, relativeTo: declaration.baseDirectory).standardizedFileURL
    }
}
