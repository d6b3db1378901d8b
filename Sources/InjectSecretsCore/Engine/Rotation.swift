import Foundation
import InjectSecretsKit

/// Where `rotate`'s new value comes from.
package enum NewSecretValue: Sendable {
    /// A value the caller read (a file, stdin).
    case given(SecretValue)
    /// N random characters from the URL-safe alphabet.
    case generated(length: Int)
}

/// What `rotate` did, and what it left stale.
package struct RotationReport: Sendable {
    package var secret: String
    package var provider: String
    package var id: String
    /// The field changed in a JSON-object secret, if one was named.
    package var key: String?
    /// The version that was current before the write.
    package var previous: String
    /// The version written, now current in the store.
    package var version: String
    /// The store made the value with its own rotation function (`RotateSecret`); nothing was written here.
    package var storeRotation = false
    /// The drift entries about this secret after the write (`rotated` names the stale functions).
    package var drift: [DriftReport.Entry]
    /// The functions rendered from another version than the one now current, sorted.
    package var staleFunctions: [String]
    /// Facts for the user, e.g. that the manifest pins another version.
    package var notes: [String]
    /// Why staleness could not be worked out (the write itself succeeded), if it could not.
    package var driftFailure: [Diagnostic]
}

/// Random secret values for `rotate --generate`.
package enum SecretGenerator {
    /// The URL-safe base64 alphabet: 64 characters, so every character carries 6 bits.
    package static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    package static let lengths = 8...4096

    package static func generate(length: Int) -> SecretValue {
        var generator = SystemRandomNumberGenerator()
        return SecretValue(String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }))
    }
}

extension InjectSecrets {
    /// Writes a new version of the secret declared as `name` to its store and makes it current, then runs
    /// the drift logic to name the functions now stale. With `key`, only that field of a JSON-object
    /// secret changes. Without a value (`nil`), a store that rotates the secret itself (Secrets Manager
    /// with RotationEnabled) is asked to, and the run waits up to `rotationWait` seconds for its current
    /// version to move. Bad input (exit 2) is found before anything is read where it can be.
    package func rotate(
        _ options: RunOptions, secret name: String, key: String?, value newValue: NewSecretValue?,
        rotationWait: TimeInterval = DueRotation.defaultWait
    ) async throws -> RotationReport {
        if let deadline = options.deadlineToStart {
            return try await RunDeadline.$current.withValue(deadline) {
                try await rotate(options, secret: name, key: key, value: newValue, rotationWait: rotationWait)
            }
        }
        let loader = ManifestLoader(registry: registry, processEnvironment: options.processEnvironment)
        let manifest = try loader.load(at: options.manifestURL, displayPath: options.displayPath, environment: options.environment)
        guard let declaration = manifest.secrets[name] else {
            throw InjectSecretsError.badInput(
                "no secret named '\(name)' under 'secrets:' in \(options.displayPath)" + didYouMean(name, manifest.secrets.keys.sorted()))
        }
        if case .generated(let length) = newValue, !SecretGenerator.lengths.contains(length) {
            throw InjectSecretsError.badInput("--generate takes a length from \(SecretGenerator.lengths.lowerBound) to \(SecretGenerator.lengths.upperBound), not \(length)")
        }
        if let key, key.isEmpty { throw InjectSecretsError.badInput("--key needs a field name") }
        let id = try TemplateEvaluator.expandID(declaration.id, vars: manifest.vars, environment: options.processEnvironment)
        let providerDeclaration = manifest.providers[declaration.providerName]!
        let provider = try registry.kind(named: providerDeclaration.type)!.make(providerDeclaration)
        let reference = SecretReference(name: name, id: id, policy: .current)
        guard let newValue else {
            guard let rotating = provider as? any SelfRotating else {
                throw InjectSecretsError.badInput(
                    "secret '\(name)': give the new value with --value-from-file PATH or --generate N; provider '\(declaration.providerName)' (type \(declaration.providerType)) does not rotate secrets itself",
                    at: declaration.location)
            }
            return try await rotateInStore(options, manifest: manifest, declaration: declaration, reference: reference, rotating: rotating, wait: rotationWait)
        }
        guard let writer = provider as? any SecretWriting else {
            throw InjectSecretsError.badInput(
                "secret '\(name)': provider '\(declaration.providerName)' (type \(declaration.providerType)) cannot write secrets; rotate it in the store itself, then run drift",
                at: declaration.location)
        }
        let audit = try options.auditLogURL.map { try AuditLog(url: $0) }
        let runLock = try Workspace.takeRunLock(options, root: try OutputWriter.open(manifest.directory))
        // The values this run holds (the current one, the new one) and its credentials never reach a message.
        let redactor = RunRedactor()
        redactor.remember(credentialsIn: options.processEnvironment)
        func failed(_ failure: ProviderFailure) async -> InjectSecretsError {
            await Self.rotationFailure(failure, provider: provider, redactor: redactor, audit: audit, manifest, declaration, reference, options)
        }

        do {
            defer { withExtendedLifetime(runLock) {} }
            // The current value: the base of a --key change, the check that a JSON secret stays one, and
            // the version a check-and-set write expects.
            let fetched = await provider.fetch([reference])
            let current: FetchedSecret
            switch fetched[reference] {
            case .success(let secret)?: current = secret
            case .failure(let failure)?: throw await failed(failure.during(.read, of: id))
            case nil:
                throw await failed(ProviderFailure(.invalidResponse, "the store gave no answer", operation: .read, path: id))
            }
            redactor.remember(value: current.value)
            let value = try Self.newValue(newValue, key: key, replacing: current.value, secret: name, location: declaration.location)
            redactor.remember(value: value)
            let version: String
            do {
                version = try await writer.write(reference, value: value, expectedCurrent: current.version)
            } catch let failure as ProviderFailure {
                throw await failed(failure.during(.write, of: id))
            }
            await provider.finish()
            try audit?.append([Self.rotationRecord(audit, manifest, declaration, reference, options, version: version, failure: nil)])
            return await report(options, declaration: declaration, id: id, key: key, previous: current.version, version: version)
        } catch {
            await provider.finish()
            throw error
        }
    }

    /// The report of a rotation that happened: the notes, and the stale functions from a drift run.
    func report(_ options: RunOptions, declaration: SecretDeclaration, id: String, key: String?, previous: String, version: String) async -> RotationReport {
        let name = declaration.name
        var notes: [String] = []
        if declaration.policy != .current {
            notes.append("the manifest selects \(declaration.policy) for '\(name)', so functions keep that version until the manifest changes")
        }
        var report = RotationReport(
            secret: name, provider: declaration.providerName, id: id, key: key, previous: previous, version: version,
            drift: [], staleFunctions: [], notes: notes, driftFailure: [])
        do {
            var all = options
            all.functions = []
            all.holdsRunLock = true
            let drift = try await self.drift(all)
            report.drift = drift.entries.filter { $0.secret == name }
            report.staleFunctions = Array(Set(report.drift.filter { $0.kind == .rotated || $0.kind == .versionGone }.flatMap(\.functions))).sorted()
        } catch {
            report.driftFailure = (error as? InjectSecretsError)?.diagnostics ?? [.error("\(error)")]
        }
        return report
    }

    /// A store failure of `rotate`: scrubbed of the run's values and the provider's credentials, audited,
    /// and named after its secret.
    static func rotationFailure(
        _ failure: ProviderFailure, provider: any SecretProvider, redactor: RunRedactor, audit: AuditLog?,
        _ manifest: Manifest, _ declaration: SecretDeclaration, _ reference: SecretReference, _ options: RunOptions
    ) async -> InjectSecretsError {
        redactor.remember(await provider.credentialsInUse())
        let failure = redactor.scrub(failure)
        try? audit?.append([rotationRecord(audit, manifest, declaration, reference, options, version: nil, failure: failure)])
        return InjectSecretsError(.storeFailure, [.storeFailure(failure, secret: declaration.name, provider: declaration.providerName)])
    }

    /// The audit record of one rotation: the version written, or the failure; never a value.
    static func rotationRecord(
        _ audit: AuditLog?, _ manifest: Manifest, _ declaration: SecretDeclaration, _ reference: SecretReference,
        _ options: RunOptions, version: String?, failure: ProviderFailure?
    ) -> AuditRecord {
        AuditRecord(
            time: Date(), run: audit?.run ?? "", operation: .rotate, provider: declaration.providerName,
            providerType: declaration.providerType, secret: declaration.name, id: reference.id,
            policy: declaration.policy.description, version: version, lockedVersion: nil, locator: nil,
            functions: manifest.functions.filter { $0.secretNames.contains(declaration.name) }.map(\.name),
            outcome: failure.map(AuditRecord.outcome(of:)) ?? .ok, errorKind: failure?.kind.rawValue,
            message: failure?.message, environment: manifest.environment,
            pipeline: AuditRecord.pipelineIdentity(options.processEnvironment))
    }

    /// The value to write: the given or generated text, set into field `key` of the current JSON object
    /// when a key is named. A JSON-object secret stays a JSON object.
    static func newValue(_ newValue: NewSecretValue, key: String?, replacing current: SecretValue, secret: String, location: SourceLocation) throws -> SecretValue {
        let text: String
        switch newValue {
        case .given(let value): text = value.text
        case .generated(let length): text = SecretGenerator.generate(length: length).text
        }
        let currentObject = (try? JSONValue.parse(current.text))?.object
        if let key {
            guard var object = currentObject else {
                throw InjectSecretsError.badInput("secret '\(secret)' is plain text, not a JSON object, so it has no field '\(key)'; rotate it without --key", at: location)
            }
            guard object[key] != nil else {
                throw InjectSecretsError.badInput(
                    "secret '\(secret)' has no field '\(key)'" + didYouMean(key, object.keys.sorted()) + "; rotate changes an existing field", at: location)
            }
            if object[key]! == .string(text) {
                throw InjectSecretsError.badInput("the new value of field '\(key)' of secret '\(secret)' is the same as the current one; nothing was written", at: location)
            }
            object[key] = .string(text)
            return SecretValue(JSONValue.object(object).serialized())
        }
        if currentObject != nil {
            if case .generated = newValue {
                throw InjectSecretsError.badInput("secret '\(secret)' is a JSON object; name the field to generate with --key", at: location)
            }
            guard (try? JSONValue.parse(text))?.object != nil else {
                throw InjectSecretsError.badInput("secret '\(secret)' is a JSON object, so its new value must be one too; or change one field with --key", at: location)
            }
        }
        if text == current.text {
            throw InjectSecretsError.badInput("the new value of secret '\(secret)' is the same as the current one; nothing was written", at: location)
        }
        return SecretValue(text)
    }
}
