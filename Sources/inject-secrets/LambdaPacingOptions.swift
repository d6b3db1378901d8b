import ArgumentParser
import InjectSecretsAWS
import InjectSecretsCore
import InjectSecretsDeploy
import InjectSecretsKit

/// How `deploy` and `drift --deployed` drive Lambda's control plane.
struct LambdaPacingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Lambda functions in flight at once (default \(LambdaPacing.defaultConcurrency)).", valueName: "n"))
    var concurrency: Int = LambdaPacing.defaultConcurrency

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Lambda control-plane calls a second per region, retries included; status polls use GetFunction's own quota (default \(Int(LambdaPacing.defaultRate)); Lambda's quota is 15).",
            valueName: "calls"))
    var rate: Double = LambdaPacing.defaultRate

    func validate() throws {
        guard concurrency >= 1, concurrency <= 256 else { throw ValidationError("--concurrency is 1 to 256") }
        guard rate > 0, rate <= 1000, rate.isFinite else { throw ValidationError("--rate is above 0 and at most 1000 calls a second") }
    }

    var pacing: LambdaPacing { LambdaPacing(concurrency: concurrency, rate: rate) }
}
