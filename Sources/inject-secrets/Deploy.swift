import ArgumentParser
import InjectSecretsAWS
import InjectSecretsCore
import InjectSecretsDeploy
import InjectSecretsKit

struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set each Lambda's environment to the one rendered from the lock, and tag it.",
        discussion: """
            For every function with a 'lambda:' target (name defaults to the function's name; region to
            AWS_REGION; variables: replace (default) or merge), renders the environment from the lock's
            versions, calls UpdateFunctionConfiguration, waits until Lambda reports the update
            Successful, and tags the function with inject-secrets:lock-digest, a digest of the lock
            entries it came from (nothing derived from a value). 'drift --deployed' reads that tag.
            Functions go in parallel (--concurrency), updates and tags paced to --rate calls a second
            per region, below Lambda's control-plane quota of 15; throttling (429) and an update in
            progress (409) are retried with backoff. A failure names those already updated and those
            not attempted, and a rerun is safe.
            """)

    @OptionGroup var common: CommonOptions

    @OptionGroup var audit: AuditOptions
    @OptionGroup var timeout: TimeoutOptions
    @OptionGroup var lambda: LambdaPacingOptions

    @Option(name: .long, help: ArgumentHelp("Deploy only this function (repeatable).", valueName: "name"))
    var function: [String] = []

    func run() async throws {
        var options = common.runOptions(functions: function)
        audit.apply(to: &options)
        timeout.apply(to: &options)
        let report = try await Progress.during("deploy") { [options, lambda] in
            try await InjectSecrets(registry: .standard).deploy(options, pacing: lambda.pacing)
        }
        switch common.format {
        case .json:
            printJSON(.object([
                "environment": report.environment.map(JSONValue.string) ?? .null,
                "updated": .array(report.updated.map {
                    .object([
                        "function": .string($0.function), "lambda": .string($0.lambda), "region": .string($0.region),
                        "arn": .string($0.arn), "variables": .array($0.variables.map(JSONValue.string)),
                        "mode": .string($0.mode), "digest": .string($0.digest),
                    ])
                }),
            ]))
        case .text:
            for function in report.updated {
                printLine("updated \(function.function) -> \(function.arn): \(function.variables.count) variables (\(function.mode)), tagged \(function.digest)")
            }
            printLine("\(report.updated.count) function(s) deployed")
        }
    }
}
