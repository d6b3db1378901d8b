import ArgumentParser
import Foundation
import InjectSecretsKit
import InjectSecretsCore

@main
struct InjectSecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inject-secrets",
        abstract: "Resolve secrets from their stores and render each function's environment config.",
        discussion: """
            Reads a deployment manifest (\(defaultManifestName)), resolves every secret reference to a
            concrete version in its store, renders one environment file per function, records the
            versions in inject-secrets.lock, and reports drift after a rotation.

            Exit codes: 0 success (drift: in sync), 1 drift found, 2 bad input (nothing was read from a
            store), 3 a store failed, 4 the secrets were read but a value cannot be written where it must
            go (nothing was written), 5 another run on the manifest held the run lock too long, 128+N stopped
            by signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
            """,
        version: "0.1.0",
        subcommands: [Validate.self, Render.self, Drift.self, Exec.self, Rotate.self, Deploy.self, Policy.self]
    )

    /// Runs the command and turns every failure into the documented exit code, with diagnostics on
    /// stderr in the compiler format.
    static func main() async {
        // First of all, so that a signal in the first milliseconds stops the run too (exec passes the
        // signals on to its child instead).
        let verb = CommandLine.arguments.dropFirst().first { ToolVerb(rawValue: $0) != nil }
        let running = StopSignals.CancellableTask()
        if verb != ToolVerb.exec.rawValue { StopSignals.install { running.cancel() } }
        do {
            var command = try parseAsRoot()
            if let asyncCommand = command as? AsyncParsableCommand, !(command is Exec) {
                // Detached: the command is handed over whole and runs off the main actor (as `run()`,
                // which is nonisolated, would anyway), so nothing of it is shared with `main`.
                let task = Task.detached {
                    var running = asyncCommand
                    try await running.run()
                }
                running.set(task)
                try await task.value
                StopSignals.exitIfStopped()
            } else if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as InjectSecretsError {
            for diagnostic in error.diagnostics {
                FileHandle.standardError.write(Data((diagnostic.description + "\n").utf8))
            }
            GitHubActions.report(
                error.diagnostics.filter { $0.severity == .error }.map(CIFinding.init),
                title: "inject-secrets " + (CommandLine.arguments.dropFirst().first { ToolVerb(rawValue: $0) != nil } ?? "") + " failed")
            if case .interrupted = error.kind {} else { StopSignals.exitIfStopped() }
            Foundation.exit(ToolExit(error.kind).code)
        } catch let code as ExitCode {
            StopSignals.exitIfStopped()
            Foundation.exit(code.rawValue)
        } catch {
            StopSignals.exitIfStopped()
            // Help and --version are successes; every other parsing error is bad input.
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(ToolExit.success.code)
            }
            FileHandle.standardError.write(Data(("error: " + message(for: error) + "\n" + "Run 'inject-secrets --help' for usage.\n").utf8))
            Foundation.exit(ToolExit.badInput.code)
        }
    }
}

extension ToolExit {
    /// The one place a failure of the core becomes an exit code.
    init(_ kind: FailureKind) {
        switch kind {
        case .badInput: self = .badInput
        case .storeFailure: self = .storeFailure
        case .unwritableValue: self = .unwritableValue
        case .busy: self = .busy
        case .interrupted(let signal): self = .stopped(signal: signal)
        }
    }
}
