import Foundation
import InjectSecretsKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a run did with one secret, for `--audit-log`: one JSON line per secret version read or looked
/// up, and per failure or denial. A record holds names, ids, versions, functions, the outcome and the
/// pipeline's identity: never a value, nor anything derived from one.
package struct AuditRecord: Sendable, Equatable {
    package enum Operation: String, Sendable {
        case render
        case plan
        case drift
        /// `exec` and `deploy` read values as render does, for a child process or a Lambda.
        case exec
        case deploy
        /// `rotate`: the version written (or made by the store's own rotation), never the value.
        case rotate
    }

    package enum Outcome: String, Sendable {
        case ok
        case denied
        case notFound = "not-found"
        case failed
    }

    package var time: Date
    package var run: String
    package var operation: Operation
    package var provider: String
    package var providerType: String
    /// The manifest's name for the secret.
    package var secret: String
    /// The id in the store.
    package var id: String
    /// The version policy of the declaration (`current`, a version id, `stage:LABEL`).
    package var policy: String
    /// The version read (render) or the version the policy selects now (plan, drift); nil on failure.
    package var version: String?
    /// The version the lock records, for plan and drift.
    package var lockedVersion: String?
    /// The store's full name for the secret (an ARN), when it gave one.
    package var locator: String?
    /// The functions of this run that receive the secret.
    package var functions: [String]
    package var outcome: Outcome
    /// The failure's kind (`access denied`, `not found`, ...) when the outcome is not ok.
    package var errorKind: String?
    /// The store part of the failure's message (`ProviderFailure.message`): what the store was doing
    /// where and why, never a value; the record names the secret and the provider itself.
    package var message: String?
    package var environment: String?
    /// Who ran it: the CI system's identity variables, when there are any.
    package var pipeline: [String: String]
    /// A render, exec or deploy that looked the version up from metadata only, for a secret its functions
    /// use only through `${ref.*}`: no value was read.
    package var referenceOnly = false

    package static func outcome(of failure: ProviderFailure) -> Outcome {
        switch failure.kind {
        case .accessDenied, .authentication: return .denied
        case .notFound, .versionNotFound: return .notFound
        default: return .failed
        }
    }

    package func json() -> JSONValue {
        var members: [String: JSONValue] = [
            "time": .string(AuditRecord.timeFormatter.string(from: time)),
            "run": .string(run),
            "operation": .string(operation.rawValue),
            "provider": .string(provider),
            "type": .string(providerType),
            "secret": .string(secret),
            "id": .string(id),
            "policy": .string(policy),
            "functions": .array(functions.map(JSONValue.string)),
            "outcome": .string(outcome.rawValue),
        ]
        if let version { members["version"] = .string(version) }
        if let lockedVersion { members["locked"] = .string(lockedVersion) }
        if let locator { members["locator"] = .string(locator) }
        if let errorKind { members["error"] = .string(errorKind) }
        if let message { members["message"] = .string(message) }
        if let environment { members["environment"] = .string(environment) }
        if !pipeline.isEmpty { members["pipeline"] = .object(pipeline.mapValues(JSONValue.string)) }
        if referenceOnly { members["read"] = .string("metadata") }
        return .object(members)
    }

    // nonisolated(unsafe): set up once and never changed; a formatter's `string(from:)` is thread-safe
    // (Foundation's formatters are since macOS 10.9), though the type is not marked Sendable.
    nonisolated(unsafe) static let timeFormatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    /// The CI identity variables this tool records, per system: GitHub Actions, GitLab CI, AWS
    /// CodeBuild, Buildkite (plus CI_SERVER and the local user when present).
    package static let pipelineVariables = [
        "GITHUB_REPOSITORY", "GITHUB_WORKFLOW", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_ACTOR", "GITHUB_REF",
        "GITHUB_SHA",
        "CI_PROJECT_PATH", "CI_PIPELINE_ID", "CI_JOB_ID", "GITLAB_USER_LOGIN", "CI_COMMIT_REF_NAME",
        "CODEBUILD_BUILD_ID", "CODEBUILD_INITIATOR", "CODEBUILD_SOURCE_VERSION",
        "BUILDKITE_PIPELINE_SLUG", "BUILDKITE_BUILD_NUMBER", "BUILDKITE_BUILD_CREATOR", "BUILDKITE_BRANCH",
    ]

    /// The pipeline identity found in `environment`; empty outside CI.
    package static func pipelineIdentity(_ environment: [String: String]) -> [String: String] {
        var identity: [String: String] = [:]
        for name in pipelineVariables {
            if let value = environment[name], !value.isEmpty { identity[name] = value }
        }
        return identity
    }
}

/// The audit log file: opened before any store is contacted (so a bad path costs no read), appended to
/// with one `write` per line under `O_APPEND` so that concurrent runs never interleave, mode 0600.
package final class AuditLog: Sendable {
    /// The environment variable pipelines set instead of passing `--audit-log`.
    package static let environmentVariable = "INJECT_SECRETS_AUDIT_LOG"

    package let url: URL
    package let run: String
    private let descriptor: Int32
    private let lock = NSLock()

    /// Opens (creating with mode 0600) the log for appending. A symbolic link at the path is refused
    /// (`O_NOFOLLOW`), and so is anything but a regular file (`O_NONBLOCK`: a FIFO does not hang the run);
    /// only the file opened here, through its descriptor, is tightened to 0600.
    package init(url: URL) throws {
        self.url = url
        self.run = UUID().uuidString.lowercased()
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            var info = stat()
            if code == ELOOP || code == ENXIO || code == EISDIR, lstat(url.path, &info) == 0 {
                throw InjectSecretsError.badInput("refusing the audit log \(url.path): it \(FileKind(info).refusal)")
            }
            throw InjectSecretsError.badInput("cannot open the audit log \(url.path): \(String(cString: strerror(code)))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, FileKind(info) == .regular else {
            close(fd)
            throw InjectSecretsError.badInput("refusing the audit log \(url.path): it \(FileKind(info).refusal)")
        }
        if info.st_mode & 0o077 != 0 {
            if fchmod(fd, 0o600) != 0 {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw InjectSecretsError.badInput("the audit log \(url.path) is readable by others and cannot be made 0600: \(reason)")
            }
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Appends the records, one line each. A failure to write is an error: a run that cannot be
    /// audited does not go on to write outputs.
    package func append(_ records: [AuditRecord]) throws {
        guard !records.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        for record in records {
            let line = Data((record.json().serialized() + "\n").utf8)
            let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written == line.count else {
                throw InjectSecretsError.badInput("cannot write the audit log \(url.path): \(written < 0 ? String(cString: strerror(errno)) : "short write")")
            }
        }
        _ = fsync(descriptor)
    }
}
