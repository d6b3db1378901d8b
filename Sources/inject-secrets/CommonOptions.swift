import ArgumentParser
import Foundation
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

    func runOptions(functions: [String] = []) -> RunOptions {
        let url = URL(fileURLWithPath: manifest, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return RunOptions(
            manifestURL: url, displayPath: manifest, environment: environment, functions: functions,
            processEnvironment: ProcessInfo.processInfo.environment)
    }
}

/// Prints a JSON document to stdout.
func printJSON(_ value: JSONValue) {
    print(value.pretty(), terminator: "")
}
