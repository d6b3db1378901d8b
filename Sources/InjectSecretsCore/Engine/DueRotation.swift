import Foundation
import InjectSecretsKit

/// What `rotate --due` did, or would do, for each secret whose `rotation-overdue` drift holds.
package struct DueRotation: Sendable {
    /// How long a store's own rotation may take to move the current version, by default.
    package static let defaultWait: TimeInterval = 120

    package enum Method: Sendable, Equatable {
        /// `rotation.generate`: N random characters, into field `key` of a JSON secret if named.
        case generate(length: Int, key: String?)
        /// The store's own rotation function (Secrets Manager `RotateSecret`).
        case store
        /// Neither: the manifest names no generator and the store does not rotate the secret itself.
        case none(reason: String)

        package var description: String {
            switch self {
            case .generate(let length, let key): return "generate \(length) characters" + (key.map { " into field '\($0)'" } ?? "")
            case .store: return "the store's own rotation (RotateSecret)"
            case .none: return "no way to make a new value"
            }
        }
    }

    package enum Outcome: Sendable {
        case rotated(RotationReport)
        /// `--dry-run`.
        case wouldRotate
        case noWay(String)
        case failed(InjectSecretsError)
    }

    package var secret: String
    package var id: String
    package var provider: String
    /// The overdue entry that made it due: age, limit and the functions that read it.
    package var overdue: DriftReport.Entry
    package var method: Method
    package var outcome: Outcome

    /// Every due secret, sorted by name; empty when nothing is due.
    package struct Report: Sendable {
        package var rotations: [DueRotation]
        package var dryRun: Bool
        /// Every due rotation succeeded (or, with --dry-run, has a way to be made).
        package var succeeded: Bool {
            rotations.allSatisfy {
                switch $0.outcome {
                case .rotated, .wouldRotate: return true
                case .noWay, .failed: return false
                }
            }
        }
    }
}

extension InjectSecrets {
    /// Rotates every secret whose `rotation-overdue` drift holds: with its `rotation.generate`, or by the
    /// store's own rotation where the store has one configured for it. A due secret with neither is
    /// named, not skipped silently. `dryRun` says what it would do and writes nothing.
    package func rotateDue(_ options: RunOptions, dryRun: Bool, rotationWait: TimeInterval = DueRotation.defaultWait) async throws -> DueRotation.Report {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) { try await rotateDue(options, dryRun: dryRun, rotationWait: rotationWait) }
        }
        let loader = ManifestLoader(registry: registry, processEnvironment: options.processEnvironment)
        let manifest = try loader.load(at: options.manifestURL, displayPath: options.displayPath, environment: options.environment)
        // One run lock over the drift and every rotation: no other run moves the lock in between.
        let runLock = try Workspace.takeRunLock(options, root: try OutputWriter.open(manifest.directory))
        defer { withExtendedLifetime(runLock) {} }
        var inner = options
        inner.holdsRunLock = true
        inner.functions = []
        let drift = try await self.drift(inner)

        var rotations: [DueRotation] = []
        for entry in drift.entries where entry.kind == .rotationOverdue {
            guard let name = entry.secret, let declaration = manifest.secrets[name] else { continue }
            let id = (try? TemplateEvaluator.expandID(declaration.id, vars: manifest.vars, environment: options.processEnvironment)) ?? ""
            var due = DueRotation(secret: name, id: id, provider: declaration.providerName, overdue: entry, method: .store, outcome: .wouldRotate)
            do {
                due.method = try await method(for: declaration, manifest: manifest, id: id)
            } catch let error as InjectSecretsError {
                due.outcome = .failed(error)
                rotations.append(due)
                continue
            }
            switch due.method {
            case .none(let reason):
                due.outcome = .noWay(reason)
            case _ where dryRun:
                due.outcome = .wouldRotate
            case .generate(let length, let key):
                due.outcome = await attempt { try await self.rotate(inner, secret: name, key: key, value: .generated(length: length)) }
            case .store:
                due.outcome = await attempt { try await self.rotate(inner, secret: name, key: nil, value: nil, rotationWait: rotationWait) }
            }
            rotations.append(due)
        }
        return DueRotation.Report(rotations: rotations, dryRun: dryRun)
    }

    private func attempt(_ rotation: () async throws -> RotationReport) async -> DueRotation.Outcome {
        do {
            return .rotated(try await rotation())
        } catch let error as InjectSecretsError {
            return .failed(error)
        } catch {
            return .failed(InjectSecretsError(.storeFailure, [.error("\(error)")]))
        }
    }

    /// How a due secret gets its new value: the manifest's generator first, then the store's own rotation.
    private func method(for declaration: SecretDeclaration, manifest: Manifest, id: String) async throws -> DueRotation.Method {
        if let generate = declaration.rotation?.generate { return .generate(length: generate.length, key: generate.key) }
        let providerDeclaration = manifest.providers[declaration.providerName]!
        let provider = try registry.kind(named: providerDeclaration.type)!.make(providerDeclaration)
        guard let rotating = provider as? any SelfRotating else {
            return .none(reason: "the manifest gives it no 'rotation.generate', and provider '\(declaration.providerName)' (type \(declaration.providerType)) cannot rotate it itself")
        }
        let reference = SecretReference(name: declaration.name, id: id, policy: .current)
        let answer: Result<Bool, Error>
        do { answer = .success(try await rotating.rotatesItself(reference)) } catch { answer = .failure(error) }
        await rotating.finish()
        switch answer {
        case .success(true): return .store
        case .success(false): break
        case .failure(let failure as ProviderFailure):
            throw InjectSecretsError(.storeFailure, [.storeFailure(failure, secret: declaration.name, provider: declaration.providerName)])
        case .failure(let error): throw error
        }
        return .none(reason: "the manifest gives it no 'rotation.generate', and provider '\(declaration.providerName)' has no rotation configured for it (RotationEnabled is false)")
    }

    /// Asks the store to rotate the secret itself, then waits, up to `wait` seconds, until its current
    /// version has moved. No value is read or written here.
    func rotateInStore(
        _ options: RunOptions, manifest: Manifest, declaration: SecretDeclaration, reference: SecretReference,
        rotating: any SelfRotating, wait: TimeInterval
    ) async throws -> RotationReport {
        let name = declaration.name
        let audit = try options.auditLogURL.map { try AuditLog(url: $0) }
        let runLock = try Workspace.takeRunLock(options, root: try OutputWriter.open(manifest.directory))
        defer { withExtendedLifetime(runLock) {} }
        let redactor = RunRedactor()
        redactor.remember(credentialsIn: options.processEnvironment)
        func failed(_ failure: ProviderFailure) async -> InjectSecretsError {
            await Self.rotationFailure(failure, provider: rotating, redactor: redactor, audit: audit, manifest, declaration, reference, options)
        }
        let previous: String?
        let version: String
        do {
            guard try await rotating.rotatesItself(reference) else {
                throw InjectSecretsError.badInput(
                    "secret '\(name)': provider '\(declaration.providerName)' has no rotation configured for it (RotationEnabled is false); give the new value with --value-from-file PATH or --generate N",
                    at: declaration.location)
            }
            previous = try await rotating.currentVersion(reference)
            version = try await rotating.startRotation(reference)
            let moved = try await BoundedWait.until(limit: wait) {
                let current = try await rotating.currentVersion(reference)
                return current != nil && current != previous
            }
            guard moved else {
                throw ProviderFailure(
                    .unreachable,
                    "the store's rotation of secret \(reference) started (version \(version)) but the current version is still \(previous ?? "none") after \(Int(wait)) s; "
                        + "check the rotation function's logs, then run rotate again")
            }
        } catch let failure as ProviderFailure {
            await rotating.finish()
            throw await failed(failure)
        } catch {
            await rotating.finish()
            throw error
        }
        let current = (try? await rotating.currentVersion(reference)).flatMap { $0 } ?? version
        await rotating.finish()
        try audit?.append([Self.rotationRecord(audit, manifest, declaration, reference, options, version: current, failure: nil)])
        var report = await report(options, declaration: declaration, id: reference.id, key: nil, previous: previous ?? "none", version: current)
        report.storeRotation = true
        return report
    }
}
