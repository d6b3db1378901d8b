import ArgumentParser
import InjectSecretsCore
import InjectSecretsKit

struct Render: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Resolve secrets, write every function's outputs and the lock.",
        discussion: """
            Each secret is resolved to the version its policy selects (default: the current one). All or
            nothing: when any secret fails, no output is written and the lock is unchanged.
            """)

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Render exactly the versions in the lock; fail if the manifest needs a secret the lock lacks.")
    var locked = false

    @Flag(name: .long, help: "Print the plan (functions, variables, old and new versions) without reading a value or writing anything.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("Render only this function (repeatable).", valueName: "name"))
    var function: [String] = []

    @OptionGroup var audit: AuditOptions
    @OptionGroup var timeout: TimeoutOptions

    @Flag(name: .long, help: "Write outputs even where git would track them (inside a work tree and not ignored).")
    var allowTrackedOutputs = false

    func run() async throws {
        let engine = InjectSecrets(registry: .standard)
        var options = common.runOptions(functions: function)
        audit.apply(to: &options)
        timeout.apply(to: &options)
        options.allowTrackedOutputs = allowTrackedOutputs
        if dryRun {
            present(try await Progress.during("render --dry-run") { try await engine.plan(options, locked: locked) })
        } else {
            present(try await Progress.during("render") { try await engine.render(options, locked: locked) })
        }
    }

    func present(_ report: RenderReport) {
        switch common.format {
        case .json:
            printJSON(.object([
                "environment": report.environment.map(JSONValue.string) ?? .null,
                "locked": .bool(report.locked),
                "outputs": .array(report.outputs.map {
                    .object(["function": .string($0.function), "path": .string($0.path), "format": .string($0.format), "written": .bool($0.written)])
                }),
                "secrets": .array(report.secrets.map {
                    var members: [String: JSONValue] = ["name": .string($0.name), "provider": .string($0.provider), "id": .string($0.id), "version": .string($0.version)]
                    if let previous = $0.previous { members["previous"] = .string(previous) }
                    return .object(members)
                }),
                "lock": .string(report.lockPath), "lockChanged": .bool(report.lockChanged),
            ]))
        case .text:
            for secret in report.secrets {
                let change = secret.previous.map { " (was \($0))" } ?? ""
                printLine("secret \(secret.name) (\(secret.id)) from \(secret.provider): version \(secret.version)\(change)")
            }
            for output in report.outputs {
                printLine("\(output.written ? "wrote" : "unchanged") \(output.path) (\(output.function), \(output.format))")
            }
            if !report.locked {
                printLine(report.lockChanged ? "updated \(report.lockPath)" : "\(report.lockPath) unchanged")
            }
        }
    }

    func present(_ plan: RenderPlan) {
        switch common.format {
        case .json:
            printJSON(.object([
                "environment": plan.environment.map(JSONValue.string) ?? .null,
                "secrets": .array(plan.secrets.map {
                    .object([
                        "name": .string($0.name), "provider": .string($0.provider), "id": .string($0.id),
                        "locked": $0.locked.map(JSONValue.string) ?? .null, "selected": $0.selected.map(JSONValue.string) ?? .null,
                        "changes": .bool($0.locked != $0.selected), "functions": .array($0.functions.map(JSONValue.string)),
                        "notes": .array($0.notes.map(JSONValue.string)),
                    ])
                }),
                "functions": .array(plan.functions.map {
                    .object([
                        "function": .string($0.function), "variables": .array($0.variables.map(JSONValue.string)),
                        "secrets": .array($0.secrets.map(JSONValue.string)), "newOutputs": .array($0.newOutputs.map(JSONValue.string)),
                    ])
                }),
                "unchanged": .array(plan.unchanged.map(JSONValue.string)),
            ]))
        case .text:
            let versions = Dictionary(uniqueKeysWithValues: plan.secrets.map { ($0.name, $0) })
            for change in plan.functions {
                printLine("\(change.function):")
                for name in change.secrets {
                    let secret = versions[name]!
                    printLine("  \(name) (\(secret.id)): \(secret.locked ?? "(not locked)") -> \(secret.selected ?? "?")")
                }
                if !change.variables.isEmpty { printLine("  variables: \(change.variables.joined(separator: ", "))") }
                for output in change.newOutputs { printLine("  new output: \(output)") }
            }
            for secret in plan.secrets { for note in secret.notes { printLine("note: \(secret.name) (\(secret.id)): \(note)") } }
            printLine(plan.functions.isEmpty ? "no changes: every function is up to date with the stores" : "\(plan.functions.count) function(s) would change, \(plan.unchanged.count) unchanged (dry run: nothing read or written)")
        }
    }
}
