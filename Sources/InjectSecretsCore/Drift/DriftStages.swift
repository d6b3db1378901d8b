import Foundation
import InjectSecretsKit

/// The stages of `drift`, each a function of what the earlier ones found: the lock against the manifest,
/// the stores' metadata against the lock, the rotation age of what the stores select, and the outputs
/// against the render record. Only the engine's `drift` reads files and asks stores; these only compare.
enum DriftStage {
    /// For every secret the lock records as the manifest declares it now, the question for its store.
    static func queries(_ workspace: Workspace) -> [String: VersionQuery] {
        var queries: [String: VersionQuery] = [:]
        queries.reserveCapacity(workspace.lockedVersions.count)
        for (name, version) in workspace.lockedVersions {
            queries[name] = VersionQuery(
                reference: workspace.references[name]!, lockedVersion: version, wantsDates: workspace.rotating.contains(name))
        }
        return queries
    }

    /// Secrets the manifest uses but the lock does not hold (or holds for another declaration), and
    /// secrets the lock holds that no function uses.
    static func lockAgainstManifest(_ workspace: Workspace) -> [DriftReport.Entry] {
        let section = workspace.lockSection
        let options = workspace.options
        var entries: [DriftReport.Entry] = []
        // In any order: only the entries are reported, and they are sorted below.
        for (name, reference) in workspace.references where workspace.lockedVersions[name] == nil {
            let why = section.secrets[name] == nil
                ? "\(reference) is used by the manifest but not recorded in the lock"
                : "the declaration of \(reference) changed since the lock was written"
            entries.append(.init(
                kind: .unlocked, secret: name, functions: workspace.functions(using: name), message: why + "; run render to lock it"))
        }
        entries.sort { $0.secret! < $1.secret! }
        let selected = Set(workspace.functions.map(\.name))
        for name in section.secrets.keys.filter({ workspace.references[$0] == nil }).sorted() {
            let entry = section.secrets[name]!
            let users = section.functions.filter { $0.value.secrets.contains(name) && (options.functions.isEmpty || selected.contains($0.key)) }.map(\.key).sorted()
            guard options.functions.isEmpty || !users.isEmpty else { continue }
            // A secret still used elsewhere in the manifest is not orphaned, only outside this selection.
            if !options.functions.isEmpty, workspace.manifest.functions.contains(where: { $0.secretNames.contains(name) }) { continue }
            entries.append(.init(
                kind: .orphaned, secret: name, functions: users,
                message: "\(name) (\(entry.id)) is recorded in the lock but no function uses it any more; run render to drop it"))
        }
        return entries
    }

    /// Rotated, gone, unlabelled and expired locked versions, the stores' notes, and the secrets whose
    /// store could not answer. `users` names the functions of each secret.
    static func storesAgainstLock(
        _ answers: [String: Result<VersionStatus, ProviderFailure>], queries: [String: VersionQuery],
        users: (String) -> [String], followers: [String: Set<String>] = [:], now: Date
    ) -> (entries: [DriftReport.Entry], notes: [String], failures: [(secret: String, failure: ProviderFailure)]) {
        var entries: [DriftReport.Entry] = []
        var noted: [(secret: String, order: Int, text: String)] = []
        func note(_ secret: String, _ text: String) { noted.append((secret, noted.count, text)) }
        var failures: [(String, ProviderFailure)] = []
        // In any order: the findings are sorted by secret below.
        for (name, answer) in answers {
            let query = queries[name]!
            let reference = query.reference
            let locked = query.lockedVersion!
            // Asked for only when there is something to report.
            var named: [String] { users(name) }
            let status: VersionStatus
            switch answer {
            case .failure(let failure):
                failures.append((name, failure))
                continue
            case .success(let answer):
                status = answer
            }
            for text in status.notes { note(name, "\(name) (\(reference.id)): \(text)") }
            if let expires = status.expires, expires <= now {
                // An expired version is gone for a reason worth naming: its expiry, not a deletion.
                entries.append(.init(
                    kind: .versionExpired, secret: name, functions: named, locked: locked, current: status.selected,
                    message: "\(reference) locked version \(locked) expired on \(RotationAge.day(expires)); rotate it, then run render"))
            } else {
                switch status.locked {
                case .gone(let reason):
                    entries.append(.init(
                        kind: .versionGone, secret: name, functions: named, locked: locked, current: status.selected,
                        message: "\(reference) locked version \(locked) is gone: \(reason)"))
                case .unlabeled:
                    entries.append(.init(
                        kind: .versionUnlabeled, secret: name, functions: named, locked: locked, current: status.selected,
                        message: "\(reference) locked version \(locked) has lost its last staging label; the store may delete it"))
                case .present, nil:
                    break
                }
            }
            if let current = status.selected, current != locked {
                // The functions using it only through `${ref.NAME:current}` read the new version themselves:
                // a rotation is a note for them, and drift for the others alone.
                let following = named.filter { followers[name]?.contains($0) == true }
                let pinning = named.filter { followers[name]?.contains($0) != true }
                if !following.isEmpty {
                    let who = following.count == 1 ? (verb: "follows", reflexive: "itself", object: "it") : (verb: "follow", reflexive: "themselves", object: "them")
                    note(name,
                        "\(name) (\(reference.id)) rotated (locked \(locked), current \(current)): \(following.joined(separator: ", ")) \(who.verb) rotations by \(who.reflexive) (${ref.\(name):current}), nothing to \(pinning.isEmpty ? "render or deploy" : "deploy for \(who.object)")")
                }
                if !pinning.isEmpty || following.isEmpty {
                    entries.append(.init(
                        kind: .rotated, secret: name, functions: pinning, locked: locked, current: current,
                        message: "\(reference) rotated: locked \(locked), current \(current)"))
                }
            } else if status.selected == nil, case .current = reference.policy, status.locked == .present || status.locked == nil {
                entries.append(.init(
                    kind: .rotated, secret: name, functions: named, locked: locked,
                    message: "\(reference): the store has no current version any more (locked \(locked))"))
            }
        }
        // Sorted by secret, and within one secret in the order found, as a walk in name order gave them.
        entries = entries.enumerated().sorted { ($0.element.secret!, $0.offset) < ($1.element.secret!, $1.offset) }.map(\.element)
        let notes = noted.sorted { ($0.secret, $0.order) < ($1.secret, $1.order) }.map(\.text)
        failures.sort { $0.0 < $1.0 }
        return (entries, notes, failures)
    }

    /// `rotation-overdue` for each secret whose selected version is older than its policy's `every`; notes
    /// for those within `warn` of it, for versions within `warn` of their expiry, and for stores that
    /// gave no creation date.
    static func rotationAge(
        _ answers: [String: Result<VersionStatus, ProviderFailure>], queries: [String: VersionQuery],
        policies: [String: RotationPolicy], users: (String) -> [String], now: Date
    ) -> (entries: [DriftReport.Entry], notes: [String]) {
        var entries: [DriftReport.Entry] = []
        var notes: [String] = []
        for name in policies.keys.sorted() {
            guard let policy = policies[name], case .success(let status)? = answers[name], let query = queries[name] else { continue }
            let reference = query.reference
            if let expires = status.expires, expires > now, let warn = policy.warn, expires.timeIntervalSince(now) < Double(warn.seconds) {
                notes.append("\(reference): locked version \(query.lockedVersion ?? "") expires on \(RotationAge.day(expires)), within warn (\(warn))")
            }
            guard let version = status.selected else { continue }
            guard let created = status.created else {
                notes.append("\(reference): the store gives no creation date for version \(version), so its rotation age is not checked")
                continue
            }
            let age = RotationAge(created: created, now: now)
            if age.seconds > Double(policy.every.seconds) {
                var entry = DriftReport.Entry(
                    kind: .rotationOverdue, secret: name, functions: users(name), locked: query.lockedVersion, current: version,
                    message: "\(reference) version \(version) was created \(age.days) day\(age.days == 1 ? "" : "s") ago (\(RotationAge.day(created))), "
                        + "past its rotation limit of \(policy.every); rotate it (rotate --due), then run render")
                entry.age = age.days
                entry.limit = policy.every.description
                entries.append(entry)
            } else if let warn = policy.warn, age.seconds > Double(policy.every.seconds - warn.seconds) {
                let left = Int(((Double(policy.every.seconds) - age.seconds) / 86_400).rounded())
                notes.append("\(reference) version \(version) is \(age.days) day\(age.days == 1 ? "" : "s") old; its rotation limit of \(policy.every) "
                    + "comes in \(left == 0 ? "less than a day" : "\(left) day\(left == 1 ? "" : "s")") (warn \(warn))")
            }
        }
        return (entries, notes)
    }

    /// Outputs missing, changed by hand, or rendered from other versions or definitions than now.
    static func outputsAgainstRecord(
        _ functions: [FunctionDefinition], record: RenderRecord, section: LockFile.Section, environment: String?
    ) -> [DriftReport.Entry] {
        var entries: [DriftReport.Entry] = []
        for function in functions {
            for output in function.outputs {
                let users = [function.name]
                guard let identity = RenderRecord.fileIdentity(of: output.url) else {
                    entries.append(.init(kind: .outputMissing, output: output.path, functions: users, message: "\(output.path) of function '\(function.name)' is missing; run render"))
                    continue
                }
                guard let rendered = record.outputs[output.path] else {
                    entries.append(.init(kind: .outputStale, output: output.path, functions: users, message: "\(output.path) of function '\(function.name)' has no render record: it was not written by render here"))
                    continue
                }
                if !RenderRecord.isSameFile(recorded: rendered.fileIdentity, now: identity) {
                    entries.append(.init(kind: .outputModified, output: output.path, functions: users, message: "\(output.path) of function '\(function.name)' was changed since render wrote it"))
                    continue
                }
                var reasons: [String] = []
                if rendered.environment != (environment ?? "") {
                    reasons.append(rendered.environment.isEmpty ? "it was rendered without an environment" : "it was rendered for environment '\(rendered.environment)'")
                }
                if rendered.definition != RenderRecord.definitionDigest(function, format: output.format) {
                    reasons.append("the function's env or the output format changed in the manifest")
                }
                for name in function.secretNames {
                    guard let lockedVersion = section.secrets[name]?.version else { continue }
                    if let used = rendered.versions[name], used != lockedVersion {
                        reasons.append("\(name) at version \(used), the lock has \(lockedVersion)")
                    } else if rendered.versions[name] == nil {
                        reasons.append("it does not hold \(name)")
                    }
                }
                if !reasons.isEmpty {
                    entries.append(.init(
                        kind: .outputStale, output: output.path, functions: users,
                        message: "\(output.path) of function '\(function.name)' is stale: " + reasons.joined(separator: "; ")))
                }
            }
        }
        return entries
    }

    /// Each entry's place in the manifest, for CI annotations: the secret's declaration or the output's.
    static func locate(_ entries: inout [DriftReport.Entry], secrets: [String: SecretDeclaration], functions: [FunctionDefinition]) -> [String: SourceLocation] {
        var outputPlaces: [String: SourceLocation] = [:]
        for function in functions { for output in function.outputs { outputPlaces[output.path] = output.location } }
        for index in entries.indices {
            if let secret = entries[index].secret {
                entries[index].location = secrets[secret]?.location
            } else if let output = entries[index].output {
                entries[index].location = outputPlaces[output]
            }
        }
        return outputPlaces
    }
}

/// How old a version is, in the whole days the reports show.
struct RotationAge {
    var seconds: Double
    var days: Int { Int(seconds / 86_400) }

    init(created: Date, now: Date) {
        seconds = max(0, now.timeIntervalSince(created))
    }

    /// A date as the reports show it: the UTC day, `2026-03-01`.
    static func day(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: date)
    }
}
