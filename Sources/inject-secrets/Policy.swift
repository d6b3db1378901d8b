import ArgumentParser
import InjectSecretsCore
import InjectSecretsDeploy
import InjectSecretsKit

struct Policy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the least access each function's stores need to render it, and what drift needs. Offline.",
        discussion: """
            Per function and provider: an IAM policy document (AWS), Vault policy HCL, Azure role
            assignments, or a file's read access, covering exactly the secrets that function reads.
            Then one drift policy per provider that reads metadata only. Exact resource names (AWS ARNs)
            come from the lock: run render once first; without it the policy says which parts are
            approximate. Functions with a 'lambda:' target add the IAM policies of deploy and drift
            --deployed (and --verify); secrets with a rotation policy in Secrets Manager add what
            rotate --due needs; functions with ${ref.*} references add what their own role needs at run time.
            JSON: {"functions": {F: {PROVIDER: POLICY}}, "runtime": {F: {PROVIDER: POLICY}},
            "drift": {PROVIDER: POLICY}, "deploy": POLICY, "deployedDrift": POLICY, "deployedVerify": POLICY,
            "rotateDue": {PROVIDER: POLICY}, "notes": [...]}.
            """)

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp("Describe only this function (repeatable); drift then covers its secrets.", valueName: "name"))
    var function: [String] = []

    func run() throws {
        let report = try InjectSecrets(registry: .standard).policyWithDeployment(common.runOptions(functions: function))
        switch common.format {
        case .json:
            printJSON(report.json())
        case .text:
            for (function, entries) in report.functions {
                if entries.isEmpty { printLine("== render \(function): reads no secret, needs no store access")
                    printLine("") }
                for entry in entries { show("render \(function)", entry) }
            }
            for (function, entries) in report.runtime {
                for entry in entries { show("runtime \(function) (the function's own role, for its ${ref.*} references)", entry) }
            }
            for entry in report.drift { show("drift", entry) }
            if let deploy = report.deploy { show("deploy: Lambda", deploy) }
            if let deployed = report.deployedDrift { show("drift --deployed: Lambda", deployed) }
            if let verify = report.deployedVerify { show("drift --deployed --verify: Lambda", verify) }
            for entry in report.rotateDue { show("rotate --due", entry) }
            if report.approximate {
                printLine("note: parts of this policy are approximate (see the notes above); render once and run policy again for exact resources")
            }
        }
    }

    func show(_ title: String, _ entry: PolicyReport.Entry) {
        show("\(title): provider '\(entry.provider)' (\(entry.type))", entry.policy)
    }

    func show(_ title: String, _ policy: AccessPolicy) {
        printLine("== \(title)")
        let text = policy.text.hasSuffix("\n") ? String(policy.text.dropLast()) : policy.text
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { printLine(String(line)) }
        for note in policy.notes { printLine("note: \(note)") }
        printLine("")
    }
}
