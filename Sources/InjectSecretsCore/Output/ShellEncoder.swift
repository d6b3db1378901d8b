import Foundation
import InjectSecretsKit

/// `export KEY='value'` lines for `set -a; . FILE` in bash.
///
/// Inside single quotes bash takes every byte literally (newlines and CRs included) except `'`, which is
/// written `'\''`. What bash cannot give back: a NUL (no shell string holds one), a name that is not an
/// identifier, and the names bash keeps for itself (read-only or recomputed on every use, such as `UID`
/// or `RANDOM`): assigning them fails or does not stick, checked against bash 5.2.
enum ShellEncoder {
    /// Names whose assignment in bash fails (read-only), does not stick (recomputed on use) or is not
    /// exported (arrays), so `set -a; . FILE` would not give the value back.
    static let bashSpecialNames: Set<String> = [
        "_", "BASHOPTS", "BASHPID", "BASH_ALIASES", "BASH_ARGC", "BASH_ARGV", "BASH_CMDS", "BASH_COMMAND",
        "BASH_LINENO", "BASH_SOURCE", "BASH_SUBSHELL", "BASH_VERSINFO", "DIRSTACK", "EPOCHREALTIME",
        "EPOCHSECONDS", "EUID", "FUNCNAME", "GROUPS", "HISTCMD", "LINENO", "OPTIND", "PIPESTATUS", "PPID",
        "RANDOM", "SECONDS", "SHELLOPTS", "SRANDOM", "UID",
    ]

    static func encode(_ entries: [(key: String, value: String)]) throws -> String {
        var out = ""
        for (key, value) in entries {
            try EnvironmentNames.checkIdentifier(key, .shell)
            if bashSpecialNames.contains(key) {
                throw OutputEncodingError(
                    key: key, format: .shell,
                    reason: "bash manages this name itself (read-only or recomputed), so it cannot be set from a file")
            }
            try EnvironmentNames.checkNoNUL(key, value, .shell)
            out += "export \(key)='"
            for scalar in value.unicodeScalars {
                if scalar == "'" { out += "'\\''" } else { out.unicodeScalars.append(scalar) }
            }
            out += "'\n"
        }
        return out
    }
}
