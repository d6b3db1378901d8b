import Foundation

/// What an access policy is for.
public enum AccessPurpose: String, Sendable, Hashable {
    /// Reading the values one function's outputs need (`render`, `render --locked`).
    case render
    /// Reading only the metadata `drift` (and `render --dry-run`) need: no value.
    case drift
    /// What a function's own role needs at run time to resolve its `${ref.*}` references: the value of
    /// exactly the referenced secrets.
    case runtime
}

/// One secret a policy must cover, with what the lock knows of it.
public struct PolicySecret: Sendable, Equatable {
    /// The manifest's name for the secret.
    public var name: String
    /// The id in the store, templates expanded.
    public var id: String
    public var policy: VersionPolicy
    /// The lock's entry when it records this declaration; nil when the lock lacks it (then only an
    /// approximate policy can be given for stores whose names the lock completes, such as AWS ARNs).
    public var locked: LockFile.SecretEntry?
    /// The secret's declaration in the manifest, for errors.
    public var location: SourceLocation?
    /// For `render`: whether the function renders the value; false when it uses the secret only through
    /// `${ref.*}`, for which render reads metadata only.
    public var valueRead: Bool

    public init(
        name: String, id: String, policy: VersionPolicy, locked: LockFile.SecretEntry?, location: SourceLocation? = nil,
        valueRead: Bool = true
    ) {
        self.name = name
        self.id = id
        self.policy = policy
        self.locked = locked
        self.location = location
        self.valueRead = valueRead
    }
}

/// What a store is asked to describe: one provider, the secrets, the purpose.
public struct AccessPolicyRequest: Sendable {
    public var declaration: ProviderDeclaration
    /// Sorted by id, each id once.
    public var secrets: [PolicySecret]
    public var purpose: AccessPurpose
    /// The function this policy is for (render), nil for drift.
    public var function: String?

    public init(declaration: ProviderDeclaration, secrets: [PolicySecret], purpose: AccessPurpose, function: String?) {
        self.declaration = declaration
        self.secrets = secrets
        self.purpose = purpose
        self.function = function
    }
}

/// A store's access policy in its own terms: an IAM policy document, Vault policy HCL, Azure role
/// assignments, a file's read access.
public struct AccessPolicy: Sendable {
    /// The policy as JSON: an IAM document, a string of HCL, a list of role assignments, ...
    public var document: JSONValue
    /// The same for people; for Vault the HCL itself, for IAM the pretty JSON.
    public var text: String
    /// Explanations: what is approximate and why, what a condition limits, what cannot be limited.
    public var notes: [String]
    /// True when part of the policy had to be guessed (no lock entry to name the exact resource).
    public var approximate: Bool

    public init(document: JSONValue, text: String, notes: [String] = [], approximate: Bool = false) {
        self.document = document
        self.text = text
        self.notes = notes
        self.approximate = approximate
    }
}

/// A kind of store that can say which access its provider needs, and nothing more. Each store describes
/// its own policy (in its own folder); the engine only groups secrets by function and provider.
public protocol AccessPolicyDescribing: SecretProviderKind {
    /// The least access that lets `request.purpose` succeed for exactly `request.secrets`, for the
    /// provider of `settings` (the same values `make` gets). Contacts nothing. Throws bad input (with a
    /// place) when a secret id cannot be expressed safely.
    static func accessPolicy(_ request: AccessPolicyRequest, settings: Settings) throws -> AccessPolicy
}

extension AccessPolicyDescribing {
    /// The policy for the request's declaration, its settings read once.
    public static func accessPolicy(_ request: AccessPolicyRequest) throws -> AccessPolicy {
        try accessPolicy(request, settings: checkedSettings(request.declaration))
    }
}

/// A store whose secrets `rotate --due` can rotate (Secrets Manager's `RotateSecret`), and which can say
/// the access that takes. Optional: other stores' rotation is their write access.
public protocol RotationAccessDescribing: SecretProviderKind {
    /// The access `rotate --due` needs for `request.secrets` (those with a rotation policy); `generated`
    /// names the ones with `rotation.generate`.
    static func rotationAccessPolicy(
        _ request: AccessPolicyRequest, generated: Set<String>, settings: Settings
    ) throws -> AccessPolicy
}

extension RotationAccessDescribing {
    /// The rotation access for the request's declaration, its settings read once.
    public static func rotationAccessPolicy(_ request: AccessPolicyRequest, generated: Set<String>) throws -> AccessPolicy {
        try rotationAccessPolicy(request, generated: generated, settings: checkedSettings(request.declaration))
    }
}

/// What `policy` found: per function and provider the render policy, per provider the drift policy.
public struct PolicyReport: Sendable {
    public struct Entry: Sendable {
        public var provider: String
        public var type: String
        public var policy: AccessPolicy
    }

    public var environment: String?
    /// Function name -> its providers' policies, sorted by provider.
    public var functions: [(function: String, entries: [Entry])]
    /// Function name -> what its own role needs at run time for its `${ref.*}` references; only the
    /// functions that have some.
    public var runtime: [(function: String, entries: [Entry])] = []
    public var drift: [Entry]
    /// For the functions with a `lambda:` target: what `deploy` and `drift --deployed` need.
    public var deploy: AccessPolicy?
    public var deployedDrift: AccessPolicy?
    /// What `drift --deployed --verify` adds: each Lambda's configuration, read with its values.
    public var deployedVerify: AccessPolicy?
    /// Per provider whose secrets have a rotation policy: what `rotate --due` needs.
    public var rotateDue: [Entry] = []

    /// True when any part is approximate (a secret the lock does not record).
    public var approximate: Bool {
        (functions.flatMap(\.entries) + runtime.flatMap(\.entries) + drift).contains { $0.policy.approximate }
            || deploy?.approximate == true || deployedDrift?.approximate == true || rotateDue.contains { $0.policy.approximate }
    }

    /// `{"functions": {F: {P: POLICY}}, "runtime": {F: {P: POLICY}}, "drift": {P: POLICY}, "deploy": POLICY,
    /// "deployedDrift": POLICY, "notes": [...], "approximate": B}`, the Lambda ones only with a `lambda:` target.
    public func json() -> JSONValue {
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
    public func policy(_ options: RunOptions) throws -> PolicyReport {
        let workspace = try Workspace.open(options, registry: registry, makeProviders: false)
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
        if let lambda = try LambdaPolicy.describe(workspace) {
            report.deploy = lambda.deploy
            report.deployedDrift = lambda.deployedDrift
            report.deployedVerify = lambda.deployedVerify
        }
        return report
    }
}
