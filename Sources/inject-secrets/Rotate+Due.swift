import ArgumentParser
import Foundation
import InjectSecretsCore
import InjectSecretsKit

extension Rotate {
    /// `rotate --due [--dry-run]`: one line (or JSON member) per due secret, saying what was done and the
    /// functions now stale; exit 0 only when every due rotation succeeded.
    func runDue(_ options: RunOptions, wait: TimeInterval) async throws {
        let report = try await Progress.during(dryRun ? "rotate --due --dry-run" : "rotate --due") { [options, dryRun] in
            try await InjectSecrets(registry: .standard).rotateDue(options, dryRun: dryRun, rotationWait: wait)
        }
        var failures: [Diagnostic] = []
        var failureKind = FailureKind.storeFailure
        var rows: [JSONValue] = []
        for due in report.rotations {
            let subject = "\(due.secret) (\(due.id))"
            let age = due.overdue.age.map { "\($0) days old" } ?? "overdue"
            let limit = due.overdue.limit ?? ""
            var row: [String: JSONValue] = [
                "secret": .string(due.secret), "id": .string(due.id), "provider": .string(due.provider),
                "functions": .array(due.overdue.functions.map(JSONValue.string)),
                "method": .string(due.method.description),
            ]
            if let days = due.overdue.age { row["age"] = .number(String(days)) }
            if let limit = due.overdue.limit { row["limit"] = .string(limit) }
            switch due.outcome {
            case .rotated(let rotation):
                row["outcome"] = .string("rotated")
                row["previous"] = .string(rotation.previous)
                row["version"] = .string(rotation.version)
                row["stale"] = .array(rotation.staleFunctions.map(JSONValue.string))
                if common.format == .text {
                    let stale = rotation.staleFunctions.isEmpty ? "no rendered function is stale" : "stale functions: \(rotation.staleFunctions.joined(separator: ", "))"
                    printLine("rotated \(subject) (\(age), limit \(limit)) in provider '\(due.provider)' by \(due.method.description): version \(rotation.previous) -> \(rotation.version); \(stale)")
                }
                failures += rotation.driftFailure
            case .wouldRotate:
                row["outcome"] = .string("would-rotate")
                if common.format == .text {
                    printLine("would rotate \(subject) (\(age), limit \(limit)) in provider '\(due.provider)' by \(due.method.description); functions: \(due.overdue.functions.joined(separator: ", "))")
                }
            case .noWay(let reason):
                row["outcome"] = .string("cannot-rotate")
                row["message"] = .string(reason)
                if common.format == .text {
                    printLine("cannot rotate \(subject) (\(age), limit \(limit)): \(reason); functions: \(due.overdue.functions.joined(separator: ", "))")
                }
            case .failed(let error):
                row["outcome"] = .string("failed")
                row["message"] = .string(error.diagnostics.map(\.message).joined(separator: "; "))
                if common.format == .text { printLine("failed to rotate \(subject): see the errors below") }
                if failures.isEmpty { failureKind = error.kind }
                failures += error.diagnostics
            }
            rows.append(.object(row))
        }
        switch common.format {
        case .json:
            printJSON(.object(["dryRun": .bool(report.dryRun), "rotations": .array(rows), "succeeded": .bool(report.succeeded)]))
        case .text:
            if report.rotations.isEmpty { printLine("nothing is due: no secret is past its rotation limit") }
            else if report.dryRun { printLine("dry run: nothing was written") }
            else if report.succeeded { printLine("run render, then deploy the stale functions") }
        }
        if !failures.isEmpty { throw InjectSecretsError(failureKind, failures) }
        if !report.succeeded { throw ExitCode(ToolExit.drift.code) }
    }
}
