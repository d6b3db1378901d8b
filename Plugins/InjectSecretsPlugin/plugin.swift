import Foundation
import PackagePlugin

/// `swift package inject-secrets [SUBCOMMAND] [OPTIONS]`: finds the manifest at the package root, builds
/// the argument list and runs the companion executable. Everything else is the executable's job.
@main
struct InjectSecretsPlugin: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        let tool = try context.tool(named: "inject-secrets")
        let packageDirectory = context.package.directoryURL
        let forwarded = PluginArguments.forward(arguments, packageDirectory: packageDirectory.path)

        let process = Process()
        process.executableURL = tool.url
        process.arguments = forwarded
        process.currentDirectoryURL = packageDirectory
        // The plugin's stdin is closed; the tool must never wait on it.
        process.standardInput = FileHandle.nullDevice
        // Tells the tool it runs under the plugin, so that it refuses to read stdin (`rotate
        // --value-from-file -`) with a clear error instead of reading nothing.
        var environment = ProcessInfo.processInfo.environment
        environment["INJECT_SECRETS_UNDER_PLUGIN"] = "1"
        process.environment = environment
        try process.run()
        process.waitUntilExit()

        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw PluginError.toolFailed(status: process.terminationStatus, arguments: forwarded)
        }
    }
}

enum PluginArguments {
    /// Adds `render` when no subcommand is given, and the package root's manifest when no `--manifest`.
    static func forward(_ arguments: [String], packageDirectory: String) -> [String] {
        var forwarded = arguments
        let verbs = Set(ToolVerb.allCases.map(\.rawValue))
        let asksForHelp = arguments.prefix(while: { $0 != "--" }).contains { $0 == "--help" || $0 == "-h" || $0 == "--version" || $0 == "help" }
        if !asksForHelp, forwarded.first.map({ !verbs.contains($0) }) ?? true {
            forwarded.insert(ToolVerb.render.rawValue, at: 0)
        }
        // Only the tool's own options count: what follows '--' is an `exec` command's arguments.
        let terminator = forwarded.firstIndex(of: "--") ?? forwarded.endIndex
        let ownArguments = forwarded[..<terminator]
        if !asksForHelp, !ownArguments.contains(where: { $0 == "--manifest" || $0.hasPrefix("--manifest=") }) {
            forwarded.insert(contentsOf: ["--manifest", packageDirectory + "/" + defaultManifestName], at: terminator)
        }
        return forwarded
    }
}

enum PluginError: Error, CustomStringConvertible {
    case toolFailed(status: Int32, arguments: [String])

    var description: String {
        switch self {
        case .toolFailed(let status, let arguments):
            let meaning: String
            switch ToolExit(code: status) {
            case .drift?: meaning = "drift found; see the report above, then run 'swift package --allow-writing-to-package-directory inject-secrets render'"
            case .badInput?: meaning = "bad input; fix the errors reported above (nothing was read from a store)"
            case .storeFailure?: meaning = "a secret store failed; see the errors above"
            default: meaning = "see the errors above"
            }
            return "inject-secrets \(arguments.first ?? "") exited with status \(status): \(meaning)"
        }
    }
}
