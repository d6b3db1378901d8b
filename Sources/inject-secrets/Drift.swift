import ArgumentParser
import InjectSecretsAWS
import InjectSecretsCore
import InjectSecretsDeploy
import InjectSecretsKit

struct Drift: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare lock, stores and outputs; exit 1 on any drift. Reads no secret value.",
        discussion: """
            Kinds: rotated, version-gone, version-unlabeled, version-expired, rotation-overdue, unlocked,
            orphaned, output-missing, output-modified, output-stale; with --deployed also deployed-stale
            and deployed-unknown, and with --deployed --verify deployed-modified. Without --verify it needs
            only the stores' metadata permissions, so it fits a
            pre-deploy check. Under GitHub Actions each drift is also an annotation on the manifest and a
            row in the step summary; --report junit PATH writes a JUnit report for GitLab or Jenkins.
            """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var reports: ReportOptions

    @Option(name: .long, help: ArgumentHelp("Check only this function (repeatable).", valueName: "name"))
    var function: [String] = []

    @OptionGroup var audit: AuditOptions
    @OptionGroup var timeout: TimeoutOptions

    @Flag(name: .long, help: "Also check each function's deployed Lambda against the lock (reads its tags, never its environment).")
    var deployed = false
    @Flag(name: .long, help: "With --deployed: also read each Lambda's live environment and name the variables changed since deploy (reads values: needs the deploy role).")
    var verify = false
    @OptionGroup var lambda: LambdaPacingOptions

    func validate() throws {
        if verify && !deployed { throw ValidationError("--verify goes with --deployed") }
    }

    func run() async throws {
        var options = common.runOptions(functions: function)
        audit.apply(to: &options)
        timeout.apply(to: &options)
        var report: DriftReport
        do {
            report = try await Progress.during("drift") { try await InjectSecrets(registry: .standard).drift(options) }
            if deployed {
                let lambdas = try await Progress.during("drift --deployed") { try await InjectSecrets(registry: .standard).deployedDrift(options, pacing: lambda.pacing) }
                report.entries += lambdas.entries
                report.notes += lambdas.notes
                report.checkedDeployments = lambdas.checkedDeployments
            }
            if verify {
                let live = try await Progress.during("drift --deployed --verify") { try await InjectSecrets(registry: .standard).verifyDeployed(options, pacing: lambda.pacing) }
                report.entries += live.entries
            }
        } catch let error as InjectSecretsError {
            if let path = reports.junitPath { try JUnitReport(suite: "inject-secrets drift", errors: error.diagnostics).write(to: path) }
            throw error
        }
        if let path = reports.junitPath { try JUnitReport(drift: report).write(to: path) }
        switch common.format {
        case .json:
            printJSON(report.json())
        case .text:
            for entry in report.entries {
                printLine("\(entry.kind.rawValue): \(entry.message) [functions: \(entry.functions.joined(separator: ", "))]")
            }
            for note in report.notes { printLine("note: \(note)") }
            printLine(report.clean ? "no drift: lock, stores and outputs agree" : "\(report.entries.count) drift(s) found")
        }
        GitHubActions.report(
            report.entries.map(CIFinding.init), title: "inject-secrets drift" + (report.environment.map { " (\($0))" } ?? ""),
            cleanMessage: "No drift: lock, stores and outputs agree.")
        if !report.clean { throw ExitCode(ToolExit.drift.code) }
    }
}
