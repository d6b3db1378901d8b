import Foundation
import InjectSecretsKit

/// Reads a manifest file, applies an environment's overlay and checks everything that can be checked
/// offline, reporting every problem at its place.
package struct ManifestLoader: Sendable {
    package var registry: ProviderRegistry
    package var processEnvironment: [String: String]
    package var limits: YAMLLimits
    /// Lets output paths and `output-dir` leave the manifest's folder (`--allow-outside-output-paths`).
    package var allowOutsideOutputPaths = false

    package init(registry: ProviderRegistry, processEnvironment: [String: String], limits: YAMLLimits = YAMLLimits()) {
        self.registry = registry
        self.processEnvironment = processEnvironment
        self.limits = limits
    }

    static let topLevelKeys = ["version", "providers", "secrets", "vars", "defaults", "environments", "functions"]
    static let overlayKeys = ["providers", "secrets", "vars", "defaults", "functions"]
    static let defaultOutputDirectory = ".build/inject-secrets"

    /// Reads and parses the file; the root node and the display path.
    package func readDocument(at url: URL, displayPath: String) throws -> YAMLNode {
        let data: Data
        do {
            guard let read = try BoundedFile.read(url.path, limit: limits.maxBytes) else {
                throw InjectSecretsError.badInput("cannot read manifest \(displayPath): no such file")
            }
            data = read
        } catch let error as FilesystemError {
            throw InjectSecretsError.badInput("cannot read manifest \(displayPath): \(error.clause)")
        }
        guard let root = try YAMLReader.read(data, path: displayPath, limits: limits) else {
            throw InjectSecretsError.badInput(
                "the manifest is empty; it needs at least 'version: 1' and 'functions:'",
                at: SourceLocation(path: displayPath, line: 1, column: 1))
        }
        return root
    }

    /// Loads the manifest with `environment`'s overlay applied.
    package func load(at url: URL, displayPath: String, environment: String?) throws -> Manifest {
        let root = try readDocument(at: url, displayPath: displayPath)
        let manifest = try decode(root, url: url, displayPath: displayPath, environment: environment)
        // The tree of a large manifest takes longer to free than the first store call takes to go out.
        releaseInBackground(consume root)
        return manifest
    }

    /// Checks the base manifest and every environment; returns every diagnostic.
    package func validateAll(at url: URL, displayPath: String) throws -> [Manifest] {
        let root = try readDocument(at: url, displayPath: displayPath)
        let base = try decode(root, url: url, displayPath: displayPath, environment: nil)
        var manifests = [base]
        var collector = DiagnosticCollector()
        for name in base.environmentNames {
            do {
                manifests.append(try decode(root, url: url, displayPath: displayPath, environment: name))
            } catch let error as InjectSecretsError {
                for diagnostic in error.diagnostics where !collector.diagnostics.contains(diagnostic) {
                    var d = diagnostic
                    d.message += " (in environment '\(name)')"
                    collector.append(d)
                }
            }
        }
        try collector.throwIfErrors()
        return manifests
    }

    func decode(_ root: YAMLNode, url: URL, displayPath: String, environment: String?) throws -> Manifest {
        var diagnostics = DiagnosticCollector()
        let document = try applyOverlay(root, environment: environment, diagnostics: &diagnostics)
        var decoder = ManifestDecoder(
            url: url, displayPath: displayPath, registry: registry, processEnvironment: processEnvironment,
            diagnostics: diagnostics)
        decoder.allowOutsidePaths = allowOutsideOutputPaths
        let manifest = decoder.decode(document, environment: environment)
        try decoder.diagnostics.throwIfErrors()
        return manifest!
    }

    /// Deep-merges `environments.NAME` over the top level: mappings merge key by key, anything else is
    /// replaced, and every node keeps the place it was written.
    func applyOverlay(_ root: YAMLNode, environment: String?, diagnostics: inout DiagnosticCollector) throws -> YAMLNode {
        guard let environment else { return root }
        guard let environments = root["environments"], let pairs = environments.mapping else {
            throw InjectSecretsError.badInput(
                "environment '\(environment)' is not declared: the manifest has no 'environments:'",
                at: root["environments"]?.location ?? root.location)
        }
        guard let overlay = pairs.first(where: { $0.key.scalar == environment })?.value else {
            let names = pairs.compactMap { $0.key.scalar }
            throw InjectSecretsError.badInput(
                "environment '\(environment)' is not declared; declared: \(names.joined(separator: ", "))"
                    + didYouMean(environment, names), at: environments.location)
        }
        if overlay.isNull { return root }
        guard let overlayPairs = overlay.mapping else {
            throw InjectSecretsError.badInput(
                "environment '\(environment)' must be a mapping, found \(overlay.kindName)", at: overlay.location)
        }
        for pair in overlayPairs where !Self.overlayKeys.contains(pair.key.scalar ?? "") {
            diagnostics.error(
                "unknown key '\(pair.key.scalar ?? "")' in environment '\(environment)'; an environment may set "
                    + Self.overlayKeys.joined(separator: ", ") + didYouMean(pair.key.scalar ?? "", Self.overlayKeys),
                at: pair.key.location)
        }
        return Self.merge(root, overlay)
    }

    static func merge(_ base: YAMLNode, _ overlay: YAMLNode) -> YAMLNode {
        guard let basePairs = base.mapping, let overlayPairs = overlay.mapping else { return overlay }
        var merged = basePairs
        for pair in overlayPairs {
            if let index = merged.firstIndex(where: { $0.key.scalar == pair.key.scalar }) {
                merged[index].value = merge(merged[index].value, pair.value)
            } else {
                merged.append(pair)
            }
        }
        return YAMLNode(.mapping(merged), at: base.location, tag: base.tag)
    }
}
