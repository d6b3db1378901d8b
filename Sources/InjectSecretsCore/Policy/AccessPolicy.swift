import Foundation
import InjectSecretsKit

/// What `policy` found: per function and provider the render policy, per provider the drift policy.
package struct PolicyReport: Sendable {
    package struct Entry: Sendable {
        package var provider: String
        package var type: String
        package var policy: AccessPolicy
    }

    package var environment: String?
    /// Function name -> its providers' policies, sorted by provider.
    package var functions: [(function: String, entries: [Entry])]
    package var drift: [Entry]
    /// For the functions with a `lambda:` target: what `deploy` and `drift --deployed` need.
    package var deploy: AccessPolicy?
    package var deployedDrift: AccessPolicy?

    /// True when any part is approximate (a secret the lock does not record).
    package var approximate: Bool {
        (functions.flatMap(\.entries) + drift).contains { $0.policy.approximate }
            || deploy?.approximate == true || deployedDrift?.approximate == true
    }

    /// `{"functions": {F: {P: POLICY}}, "drift": {P: POLICY}, "deploy": POLICY, "deployedDrift": POLICY,
    /// "notes": [...], "approximate": B}`, the Lambda ones only with a `lambda:` target.
    package func json() -> JSONValue {
        var notes: [JSONValue] = []
        var functionsJSON: [String: JSONValue] = [:]
        for (function, entries) in functions {
            var byProvider: [String: JSONValue] = [:]
            for entry in entries {
                byProvider[entry.provider] = entry.policy.document
                notes += entry.policy.notes.map {
                    .object(["purpose": .string("render"), "function": .string(function), "provider": .string(entry.provider), "message": .string($0)])
                }
            }
            functionsJSON[function] = .object(byProvider)
        }
        var driftJSON: [String: JSONValue] = [:]
        for entry in drift {
            driftJSON[entry.provider] = entry.policy.document
            notes += entry.policy.notes.map {
                .object(["purpose": .string("drift"), "provider": .string(entry.provider), "message": .string($0)])
            }
        }
        var members: [String: JSONValue] = [
            "environment": environment.map(JSONValue.string) ?? .null,
            "functions": .object(functionsJSON),
            "drift": .object(driftJSON),
            "approximate": .bool(approximate),
        ]
        for (key, purpose, policy) in [("deploy", "deploy", deploy), ("deployedDrift", "drift --deployed", deployedDrift)] {
            guard let policy else { continue }
            members[key] = policy.document
            notes += policy.notes.map { .object(["purpose": .string(purpose), "message": .string($0)]) }
        }
        members["notes"] = .array(notes)
        return .object(members)
    }
}

extension InjectSecrets {
    /// The access each function's providers need to render it (and nothing more), and the metadata-only
    /// access `drift` needs. Offline: reads the manifest and the lock, contacts no store.
    package func policy(_ options: RunOptions) throws -> PolicyReport {
        try policy(Workspace.open(options, registry: registry, makeProviders: false))
    }

    /// The stores' part of `policy` for an open workspace; the deploy module adds the Lambda part
    /// (`policyWithDeployment`), which the engine does not know.
    package func policy(_ workspace: Workspace) throws -> PolicyReport {
        let manifest = workspace.manifest

        func secrets(_ names: [String]) -> [String: [PolicySecret]] {
            var byProvider: [String: [PolicySecret]] = [:]
            for name in names {
                let reference = workspace.references[name]!
                byProvider[workspace.declaration(name).providerName, default: []].append(
                    PolicySecret(
                        name: name, id: reference.id, policy: reference.policy, locked: workspace.lockedEntry(name),
                        location: workspace.declaration(name).location))
            }
            return byProvider.mapValues { list in list.sorted { ($0.id, $0.name) < ($1.id, $1.name) } }
        }

        func describe(_ provider: String, _ list: [PolicySecret], _ purpose: AccessPurpose, function: String?) throws -> PolicyReport.Entry {
            let declaration = manifest.providers[provider]!
            guard let kind = registry.kind(named: declaration.type) as? any AccessPolicyDescribing.Type else {
                throw InjectSecretsError.badInput(
                    "provider '\(provider)' of type '\(declaration.type)' cannot describe its access policy", at: declaration.node.location)
            }
            let request = AccessPolicyRequest(declaration: declaration, secrets: list, purpose: purpose, function: function)
            return PolicyReport.Entry(provider: provider, type: declaration.type, policy: try kind.accessPolicy(request))
        }

        var diagnostics = DiagnosticCollector()
        var functions: [(function: String, entries: [PolicyReport.Entry])] = []
        for function in workspace.functions {
            var entries: [PolicyReport.Entry] = []
            for (provider, list) in secrets(function.secretNames).sorted(by: { $0.key < $1.key }) {
                do { entries.append(try describe(provider, list, .render, function: function.name)) } catch let error as InjectSecretsError {
                    for diagnostic in error.diagnostics where !diagnostics.diagnostics.contains(diagnostic) { diagnostics.append(diagnostic) }
                }
            }
            functions.append((function.name, entries))
        }
        var drift: [PolicyReport.Entry] = []
        for (provider, list) in secrets(Array(workspace.references.keys)).sorted(by: { $0.key < $1.key }) {
            do { drift.append(try describe(provider, list, .drift, function: nil)) } catch let error as InjectSecretsError {
                for diagnostic in error.diagnostics where !diagnostics.diagnostics.contains(diagnostic) { diagnostics.append(diagnostic) }
            }
        }
        try diagnostics.throwIfErrors()
        return PolicyReport(environment: manifest.environment, functions: functions, drift: drift)
    }
}
