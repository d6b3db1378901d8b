import PackagePlugin

@main
struct InjectSecretsPlugin: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {}
}
