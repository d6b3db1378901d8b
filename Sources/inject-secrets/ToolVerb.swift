// Shared by the executable and the command plugin (the plugin's copy is a symlink to this file), so
// the two cannot disagree about which words are subcommands or what the manifest is called.

/// The subcommands of the `inject-secrets` executable.
enum ToolVerb: String, CaseIterable {
    case validate
    case render
    case drift
    case exec
    case rotate
    case deploy
    case policy
}

/// The manifest looked up when `--manifest` is not given.
let defaultManifestName = "inject-secrets.yaml"
