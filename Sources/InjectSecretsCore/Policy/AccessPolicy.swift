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
    /// Function name -> what its own role needs at run time for its `${ref.*}` references; only the
    /// functions that have some.
    package var runtime: [(function: String, entries: [Entry])] = []
    package var drift: [Entry]
    /// For the functions with a `lambda:` target: what `deploy` and `drift --deployed` need.
    package var deploy: AccessPolicy?
    package var deployedDrift: AccessPolicy?
    /// What `drift --deployed --verify` adds: each Lambda's configuration, read with its values.
    package var deployedVerify: AccessPolicy?
    /// Per provider whose secrets have a rotation policy: what `rotate --due` needs.
    package var rotateDue: [Entry] = []

    /// True when any part is approximate (a secret the lock does not record).
    package var approximate: Bool {
        (functions.flatMap(\.entries) + runtime.flatMap(\.entries) + drift).contains { $0.policy.approximate }
            || deploy?.approximate == true || deployedDrift?.approximate == true || rotateDue.contains { $0.policy.approximate }
    }

    /// `{"functions": {F: {P: POLICY}}, "runtime": {F: {P: POLICY}}, "drift": {P: POLICY}, "deploy": POLICY,
    /// "deployedDrift": POLICY, "notes": [...], "approximate": B}`, the Lambda ones only with a `lambda:` target.
    package func json() -> JSONValue {
        var notes: [JSONValue] = []
        func byFunction(_ list: [(function: String, entries: [Entry])], purpose: String) -> JSONValue {
            var json: [String: JSONValue] = [:]
            for (function, entries) in list {
                var byProvider: [String: JSONValue] = [:]
                for entry in entries {
                    byProvider[entry.provider] = entry.policy.document
                    notes += entry.policy.notes.map {
                        .object(["purpose": .string(purpose), "function": .string(function), "provider": .string(entry.provider), "message": .string($0)])
                    }
                }
                json[function] = .object(byProvider)
            }
            return .object(json)
        }
        let functionsJSON = byFunction(functions, purpose: "render")
        let runtimeJSON = byFunction(runtime, purpose: "runtime")
        var driftJSON: [String: JSONValue] = [:]
        for entry in drift {
            driftJSON[entry.provider] = entry.policy.document
            notes += entry.policy.notes.map {
                .object(["purpose": .string("drift"), "provider": .string(entry.provider), "message": .string($0)])
            }
        }
        var members: [String: JSONValue] = [
            "environment": environment.map(JSONValue.string) ?? .null,
            "functions": functionsJSON,
            "runtime": runtimeJSON,
            "drift": .object(driftJSON),
            "approximate": .bool(approximate),
        ]
        if !rotateDue.isEmpty {
            var byProvider: [String: JSONValue] = [:]
            for entry in rotateDue {
                byProvider[entry.provider] = entry.policy.document
                notes += entry.policy.notes.map {
                    .object(["purpose": .string("rotate --due"), "provider": .string(entry.provider), "message": .string($0)])
                }
            }
            members["rotateDue"] = .object(byProvider)
        }
        for (key, purpose, policy) in [
            ("deploy", "deploy", deploy), ("deployedDrift", "drift --deployed", deployedDrift),
            ("deployedVerify", "drift --deployed --verify", deployedVerify),
        ] {
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

        func secrets(_ names: [String], valueRead: Set<String>? = nil) -> [String: [PolicySecret]] {
            var byProvider: [String: [PolicySecret]] = [:]
            for name in names {
                let reference = workspace.references[name]!
                byProvider[workspace.declaration(name).providerName, default: []].append(
                    PolicySecret(
                        name: name, id: reference.id, policy: reference.policy, locked: workspace.lockedEntry(name),
                        location: workspace.declaration(name).location, valueRead: valueRead?.contains(name) ?? true))
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
        func entries(_ names: [String], _ purpose: AccessPurpose, function: String, valueRead: Set<String>? = nil) throws -> [PolicyReport.Entry] {
            var entries: [PolicyReport.Entry] = []
            for (provider, list) in secrets(names, valueRead: valueRead).sorted(by: { $0.key < $1.key }) {
                do { entries.append(try describe(provider, list, purpose, function: function)) } catch let error as InjectSecretsError {
                    for diagnostic in error.diagnostics where !diagnostics.diagnostics.contains(diagnostic) { diagnostics.append(diagnostic) }
                }
            }
            return entries
        }
        var functions: [(function: String, entries: [PolicyReport.Entry])] = []
        var runtime: [(function: String, entries: [PolicyReport.Entry])] = []
        for function in workspace.functions {
            let valueRead = RenderStages.valueNames([function])
            functions.append((function.name, try entries(function.secretNames, .render, function: function.name, valueRead: valueRead)))
            let referenced = Set(function.variables.flatMap(\.template.references).compactMap { reference -> String? in
                if case .runtime(let name, _, _) = reference.kind { return name }
                return nil
            })
            if !referenced.isEmpty {
                runtime.append((function.name, try entries(referenced.sorted(), .runtime, function: function.name)))
            }
        }
        var drift: [PolicyReport.Entry] = []
        for (provider, list) in secrets(Array(workspace.references.keys)).sorted(by: { $0.key < $1.key }) {
            do { drift.append(try describe(provider, list, .drift, function: nil)) } catch let error as InjectSecretsError {
                for diagnostic in error.diagnostics where !diagnostics.diagnostics.contains(diagnostic) { diagnostics.append(diagnostic) }
            }
        }
        var rotateDue: [PolicyReport.Entry] = []
        let rotated = workspace.references.keys.filter { workspace.declaration($0).rotation != nil }
        for (provider, list) in secrets(rotated).sorted(by: { $0.key < $1.key }) {
            let declaration = manifest.providers[provider]!
            guard let kind = registry.kind(named: declaration.type) as? any RotationAccessDescribing.Type else { continue }
            let generated = Set(list.map(\.name).filter { workspace.declaration($0).rotation?.generate != nil })
            let request = AccessPolicyRequest(declaration: declaration, secrets: list, purpose: .drift, function: nil)
            do {
                rotateDue.append(.init(provider: provider, type: declaration.type, policy: try kind.rotationAccessPolicy(request, generated: generated)))
            } catch let error as InjectSecretsError {
                for diagnostic in error.diagnostics where !diagnostics.diagnostics.contains(diagnostic) { diagnostics.append(diagnostic) }
            }
        }
        try diagnostics.throwIfErrors()
        var report = PolicyReport(environment: manifest.environment, functions: functions, drift: drift)
        report.rotateDue = rotateDue
        report.runtime = runtime
        return report
    }
}
