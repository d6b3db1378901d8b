import Foundation
import InjectSecretsKit

/// A function's `lambda:` deployment target in the manifest:
///
/// ```yaml
/// functions:
///   checkout:
///     lambda: { name: checkout-prod, region: eu-west-1, variables: merge }
/// ```
///
/// `name` defaults to the manifest's function name and may be a full function ARN; `region` defaults to
/// the ARN's, else AWS_REGION / AWS_DEFAULT_REGION; `variables` is `replace` (the default: the function's
/// environment becomes exactly the rendered one) or `merge` (rendered keys win, others stay).
package struct LambdaTarget: Sendable, Hashable {
    package enum VariablesMode: String, Sendable, CaseIterable {
        case replace
        case merge
    }

    package static let keys = ["name", "region", "variables"]

    package var function: String
    package var name: String
    package var region: String?
    package var variables: VariablesMode
    package var location: SourceLocation

    /// Checks the node's keys and values; errors point at the offending place.
    package static func parse(_ node: YAMLNode, function: String) throws -> LambdaTarget {
        var diagnostics = DiagnosticCollector()
        var target = LambdaTarget(function: function, name: function, region: nil, variables: .replace, location: node.location)
        if node.isNull { return target }
        guard let pairs = node.mapping else {
            throw InjectSecretsError.badInput("'lambda' of function '\(function)' must be a mapping with \(keys.joined(separator: ", "))", at: node.location)
        }
        for pair in pairs {
            let key = pair.key.scalar ?? ""
            guard keys.contains(key) else {
                diagnostics.error("unknown key '\(key)' in 'lambda' of function '\(function)'" + didYouMean(key, keys), at: pair.key.location)
                continue
            }
            guard let text = pair.value.scalar, !text.isEmpty else {
                diagnostics.error("'\(key)' in 'lambda' of function '\(function)' must be non-empty text", at: pair.value.location)
                continue
            }
            switch key {
            case "name":
                let valid = text.count <= 140 && text.unicodeScalars.allSatisfy {
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_:".unicodeScalars.contains($0)
                }
                if !valid {
                    diagnostics.error("'name' in 'lambda' of function '\(function)' is not a Lambda function name or ARN", at: pair.value.location)
                }
                target.name = text
            case "region":
                if !AWSRegionName.isValid(text) {
                    diagnostics.error("'region' in 'lambda' of function '\(function)' is not an AWS region name", at: pair.value.location)
                }
                target.region = text
            default:
                guard let mode = VariablesMode(rawValue: text) else {
                    diagnostics.error(
                        "'variables' in 'lambda' of function '\(function)' is 'replace' or 'merge', not '\(text)'"
                            + didYouMean(text, VariablesMode.allCases.map(\.rawValue)), at: pair.value.location)
                    continue
                }
                target.variables = mode
            }
        }
        try diagnostics.throwIfErrors()
        return target
    }

    /// The region from the ARN when `name` is one.
    package var arnRegion: String? {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        return name.hasPrefix("arn:") && parts.count >= 7 ? String(parts[3]) : nil
    }
}
