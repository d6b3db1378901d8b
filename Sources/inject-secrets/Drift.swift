import ArgumentParser
import InjectSecretsCore

struct Drift: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare lock, stores and outputs; exit 1 on any drift. Reads no secret value.",
        discussion: """
            Kinds: rotated, version-gone, version-unlabeled, unlocked, orphaned, output-missing,
            output-modified, output-stale. Needs only the stores' metadata permissions, so it fits a
            pre-deploy check.
            """)

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp("Check only this function (repeatable).", valueName: "name"))
    var function: [String] = []

    func run() async throws {
        let report = try await InjectSecrets(registry: .standard).drift(common.runOptions(functions: function))
        switch common.format {
        case .json:
            printJSON(report.json())
        case .text:
            for entry in report.entries {
                print("\(entry.kind.rawValue): \(entry.message) [functions: \(entry.functions.joined(separator: ", "))]")
            }
            for note in report.notes { print("note: \(note)") }
            print(report.clean ? "no drift: lock, stores and outputs agree" : "\(report.entries.count) drift(s) found")
        }
        if !report.clean { throw ExitCode(1) }
    }
}
