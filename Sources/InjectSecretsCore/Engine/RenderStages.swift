import Foundation
import InjectSecretsKit

/// A secret's version as one run settled it: read with its value, or, for a secret used only through
/// `${ref.*}`, from the store's metadata alone.
struct SettledVersion: Sendable, Hashable {
    var version: String
    /// The store's full name for it (the ARN, the secret URL), recorded in the lock.
    var locator: String?
}

extension FunctionDefinition {
    /// The secrets this function uses only through `${ref.NAME:current}`: its rendered environment is the
    /// same whatever their version, so a rotation leaves it unchanged (`deploy`'s digest leaves it out).
    package var followedSecretNames: Set<String> { RenderStages.followingNames([self]) }
}

/// The stages of `render` that decide, in memory and without any store or file, what the run writes: which
/// secrets need a value, the references' text, the encoded outputs, the next lock section, the next render
/// record. `InjectSecrets.render` wires them to the stores and the commit.
enum RenderStages {
    // MARK: resolve

    /// The secrets whose value some function of the run renders; the others are used only through
    /// `${ref.*}`, and `render` reads no value for them.
    static func valueNames(_ functions: [FunctionDefinition]) -> Set<String> {
        Set(functions.flatMap { $0.variables.flatMap(\.template.valueSecretNames) })
    }

    /// The secrets every function of the run uses only through `${ref.NAME:current}`: their functions
    /// follow rotations by themselves, so a rotation leaves nothing stale for them.
    static func followingNames(_ functions: [FunctionDefinition]) -> Set<String> {
        var following: Set<String> = [], pinned: Set<String> = []
        for reference in functions.flatMap({ $0.variables.flatMap(\.template.references) }) {
            switch reference.kind {
            case .runtime(let name, _, true): following.insert(name)
            case .runtime(let name, _, false), .secret(let name, _): pinned.insert(name)
            case .variable, .environment: break
            }
        }
        return following.subtracting(pinned)
    }

    /// Per secret, the functions that use it only through `${ref.NAME:current}`.
    static func followers(_ functions: [FunctionDefinition]) -> [String: Set<String>] {
        var followers: [String: Set<String>] = [:]
        for function in functions {
            for name in function.followedSecretNames { followers[name, default: []].insert(function.name) }
        }
        return followers
    }

    /// Metadata questions for the secrets used only through `${ref.*}`. A pinned policy (a declared
    /// version, or the lock's with `--locked`) asks about that version as the locked one, so that the
    /// answer says whether it still exists.
    static func referenceQueries(_ references: [String: SecretReference]) -> [String: VersionQuery] {
        references.mapValues { reference in
            if case .version(let id) = reference.policy { return VersionQuery(reference: reference, lockedVersion: id) }
            return VersionQuery(reference: reference, lockedVersion: nil)
        }
    }

    /// The versions the metadata answers settle, or per secret why not (the policy selects nothing, the
    /// pinned version is gone).
    static func settle(
        _ answers: [String: Result<VersionStatus, ProviderFailure>], policies: [String: VersionPolicy]
    ) -> [String: Result<SettledVersion, ProviderFailure>] {
        var settled: [String: Result<SettledVersion, ProviderFailure>] = [:]
        for (name, answer) in answers {
            settled[name] = answer.flatMap { status in
                if case .gone(let reason) = status.locked {
                    return .failure(ProviderFailure(.versionNotFound, "the version to reference is gone: \(reason)"))
                }
                guard let version = status.selected else {
                    return .failure(ProviderFailure(
                        .versionNotFound, "the policy '\(policies[name]?.description ?? "current")' selects no version in the store"))
                }
                return .success(SettledVersion(version: version, locator: status.locator))
            }
        }
        return settled
    }

    /// The text of every `${ref.*}` of `functions`, written by the secret's store kind for its settled
    /// version. Failures (an answer without the ARN a reference needs) are store failures, per secret.
    static func runtimeReferences(
        _ functions: [FunctionDefinition], versions: [String: SettledVersion], declarations: [String: SecretDeclaration],
        registry: ProviderRegistry
    ) -> (texts: [TemplateReference.Kind: String], failures: [Diagnostic]) {
        var texts: [TemplateReference.Kind: String] = [:]
        var failures: [Diagnostic] = []
        for reference in functions.flatMap({ $0.variables.flatMap(\.template.references) }) {
            guard case .runtime(let name, let field, let follows) = reference.kind, texts[reference.kind] == nil,
                let declaration = declarations[name], let settled = versions[name]
            else { continue }
            guard let kind = registry.kind(named: declaration.providerType) as? any RuntimeReferencing.Type else { continue }
            do {
                texts[reference.kind] = try kind.runtimeReference(
                    RuntimeReferenceRequest(field: field, follows: follows, policy: declaration.policy),
                    version: settled.version, locator: settled.locator)
            } catch let failure as ProviderFailure {
                let diagnostic = Diagnostic.storeFailure(failure, secret: name, provider: declaration.providerName)
                if !failures.contains(diagnostic) { failures.append(diagnostic) }
            } catch {}
        }
        return (texts, failures)
    }

    /// Every function's `env` evaluated in memory; a function with any failing variable gets no
    /// environment, and the failures are collected by kind (bad input, 2; a store answer that does not fit, 3).
    static func evaluate(
        _ functions: [FunctionDefinition], vars: [String: String], environment processEnvironment: [String: String],
        secrets: [String: FetchedSecret], runtimeReferences: [TemplateReference.Kind: String]
    ) -> (environments: [String: [String: String]], badInput: DiagnosticCollector, storeMismatch: DiagnosticCollector) {
        var environments: [String: [String: String]] = [:]
        var badInput = DiagnosticCollector(), storeMismatch = DiagnosticCollector()
        var evaluator = TemplateEvaluator(
            vars: vars, environment: processEnvironment, secrets: secrets, runtimeReferences: runtimeReferences)
        for function in functions {
            var environment: [String: String] = [:]
            for variable in function.variables {
                do {
                    environment[variable.key] = try evaluator.evaluate(variable.template, context: "\(variable.key) of function '\(function.name)'")
                } catch TemplateEvaluator.Failure.badInput(let diagnostic) {
                    badInput.append(diagnostic)
                } catch TemplateEvaluator.Failure.store(let diagnostic) {
                    storeMismatch.append(diagnostic)
                } catch {}
            }
            if environment.count == function.variables.count { environments[function.name] = environment }
        }
        return (environments, badInput, storeMismatch)
    }

    // MARK: encode

    struct Encoded {
        var files: [PendingFile] = []
        var planned: [(function: FunctionDefinition, output: OutputDefinition)] = []
        var unwritable = DiagnosticCollector()
    }

    /// Every output of the functions whose environment evaluated, in its format; values that cannot go
    /// where they must are collected as errors.
    static func encode(_ functions: [FunctionDefinition], environments: [String: [String: String]]) throws -> Encoded {
        var encoded = Encoded()
        for function in functions {
            guard let environment = environments[function.name] else { continue }
            for output in function.outputs {
                if output.format == .lambda, let problem = LambdaEnvironmentRules.sizeProblem(environment, function: function.name) {
                    encoded.unwritable.error(problem + " once rendered", at: output.location)
                    continue
                }
                do {
                    encoded.files.append(PendingFile(url: output.url, data: try output.format.encode(environment)))
                    encoded.planned.append((function, output))
                } catch let error as OutputEncodingError {
                    encoded.unwritable.error("function '\(function.name)', output '\(output.path)': \(error)", at: output.location)
                }
            }
        }
        return encoded
    }

    // MARK: next lock section

    /// The lock section after this run: its functions and secrets replace their entries; a full run
    /// (`fullRun`, no `--function`) starts from nothing, so what no function uses any more leaves.
    static func nextLockSection(
        previous: LockFile.Section, fullRun: Bool, functions: [FunctionDefinition], references: [String: SecretReference],
        versions: [String: SettledVersion], declarations: [String: SecretDeclaration]
    ) -> (section: LockFile.Section, secrets: [RenderReport.Secret]) {
        var section = fullRun ? LockFile.Section() : previous
        var reportSecrets: [RenderReport.Secret] = []
        for name in references.keys.sorted() {
            guard let declaration = declarations[name], let settled = versions[name] else { continue }
            let entry = LockFile.SecretEntry(
                provider: declaration.providerName, type: declaration.providerType, id: references[name]!.id,
                policy: declaration.policy.description, version: settled.version, locator: settled.locator)
            section.secrets[name] = entry
            let before = previous.secrets[name]
            reportSecrets.append(RenderReport.Secret(
                name: name, provider: entry.provider, id: entry.id, version: entry.version,
                previous: before?.version != entry.version ? before?.version : nil))
        }
        for function in functions {
            section.functions[function.name] = LockFile.FunctionEntry(secrets: function.secretNames, outputs: function.outputs.map(\.path))
        }
        let used = Set(section.functions.values.flatMap(\.secrets))
        section.secrets = section.secrets.filter { used.contains($0.key) }
        return (section, reportSecrets)
    }

    // MARK: next record

    /// The render record after this run's outputs are in place: each output's versions, definition and
    /// file identity as written (`identity`, asked once the files exist).
    static func nextRecord(
        previous: RenderRecord, planned: [(function: FunctionDefinition, output: OutputDefinition)],
        versions: [String: SettledVersion], environment: String?, identity: (URL) -> String?
    ) -> RenderRecord {
        var record = previous
        for (function, output) in planned {
            var used: [String: String] = [:]
            for name in function.secretNames { used[name] = versions[name]?.version }
            record.outputs[output.path] = RenderRecord.Output(
                function: function.name, format: output.format.rawValue, environment: environment ?? "",
                versions: used, definition: RenderRecord.definitionDigest(function, format: output.format),
                fileIdentity: identity(output.url) ?? "")
        }
        return record
    }
}
