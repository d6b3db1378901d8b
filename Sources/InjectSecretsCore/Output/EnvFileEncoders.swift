import Foundation
import InjectSecretsKit

/// `KEY=value` lines for `docker run --env-file` (and `env_file:` of Compose with `format: raw`), read
/// by docker/cli's `parseKeyValueFile` (`pkg/kvfile/kvfile.go`, formerly `opts/envfile.go`):
/// - The file is split into lines by Go's `bufio.Scanner` with `ScanLines`: a line ends at LF, and a CR
///   just before the LF is dropped. Lines longer than `bufio.MaxScanTokenSize` (64 KiB) fail the read.
/// - Leading whitespace of the line is trimmed, an empty line or one starting with `#` is skipped, and
///   the line is cut at its first `=`: the value is everything after it, passed through with no
///   trimming, no quote removal and no escapes.
/// So a value is written as is, and one Docker cannot give back is refused: a line break (LF, or a CR
/// at its end), a NUL, or a line over 64 KiB.
enum DockerEnvEncoder {
    static let maxLineBytes = 64 * 1024

    static func encode(_ entries: [(key: String, value: String)]) throws -> String {
        var out = ""
        for (key, value) in entries {
            try EnvironmentNames.checkIdentifier(key, .dockerEnv)
            try EnvironmentNames.checkNoNUL(key, value, .dockerEnv)
            if value.utf8.contains(UInt8(ascii: "\n")) {
                throw OutputEncodingError(key: key, format: .dockerEnv, reason: "the value holds a line break, and Docker's env-file has no quoting or escape for one")
            }
            if value.utf8.last == UInt8(ascii: "\r") {
                throw OutputEncodingError(key: key, format: .dockerEnv, reason: "the value ends with a carriage return, which Docker drops as part of the line ending")
            }
            if key.utf8.count + 1 + value.utf8.count >= maxLineBytes {
                throw OutputEncodingError(key: key, format: .dockerEnv, reason: "the line would be longer than the 64 KiB Docker reads per line")
            }
            out += key + "=" + value + "\n"
        }
        return out
    }
}

/// `KEY="value"` lines for systemd's `EnvironmentFile=`, read by `parse_env_file_internal` in
/// systemd's `src/basic/env-file.c`:
/// - Inside double quotes every byte is literal, line breaks included, except `\` and the closing `"`;
///   a backslash before one of `"`, `\`, `` ` ``, `$` (`SHELL_NEED_ESCAPE`) gives that character, and
///   a backslash before a line break removes both. Older systemd versions give the character after any
///   backslash, so only those four are ever escaped: both read the same value. No `$` is expanded.
/// - Unquoted values would lose trailing whitespace and take a trailing `\` as a line continuation, so
///   every value is quoted.
/// - The assignment then has to pass `env_assignment_is_valid`: a name `[A-Za-z_][A-Za-z0-9_]*` and a
///   value in UTF-8; systemd before v246 also refused control characters other than TAB and LF in a
///   value (`string_has_cc`), so those and NUL are refused here.
enum SystemdEnvEncoder {
    static func encode(_ entries: [(key: String, value: String)]) throws -> String {
        var out = ""
        for (key, value) in entries {
            try EnvironmentNames.checkIdentifier(key, .systemdEnv)
            try EnvironmentNames.checkNoNUL(key, value, .systemdEnv)
            if value.utf8.contains(where: { ($0 < 0x20 && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\n")) || $0 == 0x7F }) {
                throw OutputEncodingError(
                    key: key, format: .systemdEnv,
                    reason: "the value holds a control character other than tab and line feed, which systemd refuses in an environment value")
            }
            out += key + "=\""
            for scalar in value.unicodeScalars {
                if scalar == "\"" || scalar == "\\" || scalar == "`" || scalar == "$" { out += "\\" }
                out.unicodeScalars.append(scalar)
            }
            out += "\"\n"
        }
        return out
    }
}
