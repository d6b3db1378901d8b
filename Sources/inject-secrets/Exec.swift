import ArgumentParser
import Foundation
import InjectSecretsKit
import InjectSecretsCore

struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command with one function's environment added; writes nothing to disk.",
        discussion: """
            Resolves the function's environment exactly as render does (all or nothing: a bad manifest
            exits 2 and a store failure exits 3 before the command starts), adds it to the current
            environment and runs the command. No output, lock or render record is written. The command's
            exit status becomes this one's (128+N when signal N killed it); SIGINT, SIGTERM and SIGHUP are
            passed on to it. A command that cannot be found exits 127, one that cannot run 126.

            Example: inject-secrets exec --function checkout -- swift run checkout-server
            """)

    @OptionGroup var common: CommonOptions

    @OptionGroup var audit: AuditOptions
    @OptionGroup var timeout: TimeoutOptions

    @Option(name: .long, help: ArgumentHelp("The function whose environment to use.", valueName: "name"))
    var function: String

    @Flag(name: .long, help: "Use exactly the versions in the lock; fail if the manifest needs a secret the lock lacks.")
    var locked = false

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after '--'.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty {
            throw ValidationError("name the command to run after '--', e.g. inject-secrets exec --function \(function) -- env")
        }
    }

    func run() async throws {
        var options = common.runOptions(functions: [function])
        audit.apply(to: &options)
        timeout.apply(to: &options)
        let resolved = try await Progress.during("exec: resolving \(function)") { [options] in
            try await InjectSecrets(registry: .standard).resolveEnvironments(options, locked: locked)
        }
        var environment = ProcessInfo.processInfo.environment
        environment.merge(resolved.functions[function] ?? [:]) { _, resolved in resolved }
        let status: Int32
        do {
            status = try ChildProcess.run(command, environment: environment)
        } catch let error as ChildProcess.LaunchError {
            FileHandle.standardError.write(Data("error: \(error.description.controlCharactersEscaped)\n".utf8))
            throw ExitCode(error.status)
        }
        throw ExitCode(status)
    }
}
