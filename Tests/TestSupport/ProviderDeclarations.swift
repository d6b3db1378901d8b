import Foundation
import InjectSecretsKit

/// A store's declaration as the manifest reader makes it: `yaml` is the provider's mapping (flow
/// `{type: vault, ...}` or block, one `key: value` a line) at line 1 of `path`, so errors carry real
/// places. The type is the mapping's `type`.
package func providerDeclaration(
    _ yaml: String, name: String = "store", path: String = "inject-secrets.yaml",
    baseDirectory: URL = URL(fileURLWithPath: NSTemporaryDirectory()), environment: [String: String] = [:]
) throws -> ProviderDeclaration {
    guard let node = try YAMLReader.read(Data(yaml.utf8), path: path) else { throw TestSupportError("empty YAML") }
    return ProviderDeclaration(
        name: name, type: node["type"]?.scalar ?? "", node: node, baseDirectory: baseDirectory, environment: environment)
}

/// The same from `key: value` pairs, one a line in this order (plain scalars only).
package func providerDeclaration(
    _ pairs: [(String, String)], name: String = "store", path: String = "inject-secrets.yaml",
    baseDirectory: URL = URL(fileURLWithPath: NSTemporaryDirectory()), environment: [String: String] = [:]
) throws -> ProviderDeclaration {
    try providerDeclaration(
        pairs.map { "\($0.0): \($0.1)" }.joined(separator: "\n") + "\n", name: name, path: path,
        baseDirectory: baseDirectory, environment: environment)
}
