import ArgumentParser
import Foundation
import InjectSecretsKit
import InjectSecretsCore

enum OutputStyle: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// The options every subcommand takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The deployment manifest.", valueName: "path"))
    var manifest: String = defaultManifestName

    @Option(name: .long, help: ArgumentHelp("Apply this overlay from the manifest's 'environments'.", valueName: "name"))
    var environment: String?

    @Option(name: .long, help: "How to print the result: text for people, json for pipelines.")
    var format: OutputStyle = .text

    @Flag(name: .long, help: "Let output paths and 'output-dir' leave the manifest's folder (absolute or '../' paths, or a linked folder).")
    var allowOutsideOutputPaths = false

    @Option(name: .long, help: ArgumentHelp("How long to wait for another run on the same manifest to finish (its .inject-secrets.flock) before failing with exit 4.", valueName: "seconds"))
    var lockWait: Double = 60

    func validate() throws {
        guard lockWait >= 0, lockWait.isFinite else { throw ValidationError("--lock-wait takes a number of seconds, 0 or more") }
    }

    func runOptions(functions: [String] = []) -> RunOptions {
        let url = URL(fileURLWithPath: manifest, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        var options = RunOptions(
            manifestURL: url, displayPath: manifest, environment: environment, functions: functions,
            processEnvironment: ProcessInfo.processInfo.environment)
        options.allowOutsideOutputPaths = allowOutsideOutputPaths
        options.lockWait = lockWait
        options.interruption = StopSignals.interruption
        options.notice = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        return options
    }
}

/// `--audit-log PATH`, or INJECT_SECRETS_AUDIT_LOG for pipelines: where render and drift append their
/// audit records.
struct AuditOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Append one JSON line per secret read or looked up, and per failure, to this file (mode 0600; default: $\(AuditLog.environmentVariable)).",
            valueName: "path"))
    var auditLog: String?

    func apply(to options: inout RunOptions) {
        let path = auditLog ?? options.processEnvironment[AuditLog.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        guard let path else { return }
        options.auditLogURL = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL
    }
}

/// `--timeout SECONDS` for the commands that reach stores: the whole run's limit, retries included. Each
/// request's own timeout is cut to what is left, and no retry starts or waits past it.
struct TimeoutOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Give up on the stores after this many seconds in all, retries included (default: \(Int(RunDeadline.defaultSeconds))).",
            valueName: "seconds"))
    var timeout: Double = RunDeadline.defaultSeconds

    func validate() throws {
        guard timeout.isFinite, timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    /// Starts the clock: call just before the run.
    func apply(to options: inout RunOptions) {
        options.deadline = RunDeadline(seconds: timeout)
    }
}

/// Prints one line of the text format to stdout. Ids, paths and names come from the manifest and the
/// stores, so control characters are escaped: a newline in an id cannot start a line of its own (a
/// `::stop-commands::` workflow command on a GitHub runner).
func printLine(_ text: String) {
    print(text.controlCharactersEscaped)
}

/// Prints a JSON document to stdout.
func printJSON(_ value: JSONValue) {
    print(value.pretty(), terminator: "")
}
