import Foundation
import InjectSecretsKit

/// Turns templates into text once the secrets are read.
struct TemplateEvaluator {
    let vars: [String: String]
    let environment: [String: String]
    /// Secret name -> value read for it.
    let secrets: [String: FetchedSecret]
    /// `${ref.*}` reference -> the text written for it (see `RuntimeReferencing`).
    let runtimeReferences: [TemplateReference.Kind: String]
    /// JSON objects parsed from secret values, once per secret.
    private var parsed: [String: JSONValue?] = [:]

    init(
        vars: [String: String], environment: [String: String], secrets: [String: FetchedSecret],
        runtimeReferences: [TemplateReference.Kind: String] = [:]
    ) {
        self.vars = vars
        self.environment = environment
        self.secrets = secrets
        self.runtimeReferences = runtimeReferences
    }

    /// The error kinds differ: a missing environment variable is bad input (2); a secret without the
    /// field a template asks for is the store's answer not matching (3).
    enum Failure: Error {
        case badInput(Diagnostic)
        case store(Diagnostic)
    }

    /// Expands a secret id, which may use only `${vars.*}` and `${env.*}`.
    static func expandID(_ template: Template, vars: [String: String], environment: [String: String]) throws -> String {
        // Most ids are plain text.
        switch template.segments.first {
        case nil: return ""
        case .literal(let text)? where template.segments.count == 1: return text
        default: break
        }
        var evaluator = TemplateEvaluator(vars: vars, environment: environment, secrets: [:])
        do {
            return try evaluator.evaluate(template, context: "the secret id")
        } catch Failure.badInput(let diagnostic), Failure.store(let diagnostic) {
            throw InjectSecretsError(.badInput, [diagnostic])
        }
    }

    mutating func evaluate(_ template: Template, context: String) throws -> String {
        var text = ""
        for segment in template.segments {
            switch segment {
            case .literal(let literal):
                text += literal
            case .reference(let reference):
                text += try resolve(reference, context: context)
            }
        }
        return text
    }

    private mutating func resolve(_ reference: TemplateReference, context: String) throws -> String {
        switch reference.kind {
        case .variable(let name):
            guard let value = vars[name] else {
                throw Failure.badInput(.error("unknown variable '\(name)' in \(context)", at: reference.location))
            }
            return value
        case .environment(let name, let fallback):
            if let value = environment[name] { return value }
            if let fallback { return fallback }
            throw Failure.badInput(.error(
                "environment variable \(name) is not set (\(reference.text) in \(context)); set it or write ${env.\(name):-default}",
                at: reference.location))
        case .runtime(let name, _, _):
            guard let text = runtimeReferences[reference.kind] else {
                throw Failure.badInput(.error("no reference to secret '\(name)' was made for \(context)", at: reference.location))
            }
            return text
        case .secret(let name, let field):
            guard let secret = secrets[name] else {
                throw Failure.badInput(.error("secret '\(name)' was not read for \(context)", at: reference.location))
            }
            guard let field else { return secret.value.text }
            if parsed[name] == nil {
                parsed[name] = .some(try? JSONValue.parse(secret.value.text))
            }
            guard let object = parsed[name]!, object.object != nil else {
                throw Failure.store(.error(
                    "\(reference.text) in \(context): version \(secret.version) of secret '\(name)' is not a JSON object, so it has no field '\(field)'; use ${secrets.\(name)} for the whole value",
                    at: reference.location))
            }
            guard let member = object[field] else {
                let keys = object.object!.keys.sorted()
                throw Failure.store(.error(
                    "\(reference.text) in \(context): version \(secret.version) of secret '\(name)' has no field '\(field)'" + didYouMean(field, keys),
                    at: reference.location))
            }
            switch member {
            case .string(let text): return text
            case .number(let text): return text
            case .bool(let flag): return flag ? "true" : "false"
            case .null, .array, .object:
                throw Failure.store(.error(
                    "\(reference.text) in \(context): field '\(field)' of secret '\(name)' is not text, a number or a boolean",
                    at: reference.location))
            }
        }
    }
}
