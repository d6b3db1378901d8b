import Foundation
import XCTest

/// The built `inject-secrets` executable.
public var toolExecutable: URL { productsDirectory.appendingPathComponent("inject-secrets") }

/// Variables of the machine running the tests that would let its own stores, credentials, CI or proxies
/// into a run: a test names what it wants instead.
private let scrubbedPrefixes = [
    "AWS_", "VAULT_", "BAO_", "AZURE_", "IDENTITY_", "MSI_", "ACTIONS_ID_TOKEN_REQUEST_", "GITHUB_",
    "INJECT_SECRETS_", "PARAMETERS_SECRETS_EXTENSION_",
]
private let scrubbedProxies: Set<String> = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"]

/// This process's environment without the machine's store, credential, CI and proxy variables, with
/// `HOME` at `home` (so no `~/.aws`, `~/.vault-token` or `~/.azure` of the machine is read), then
/// `overrides` on top.
public func scrubbedEnvironment(home: URL, _ overrides: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.filter { key, _ in
        !scrubbedPrefixes.contains { key.hasPrefix($0) } && !scrubbedProxies.contains(key.uppercased())
    }
    environment["HOME"] = home.path
    environment.merge(overrides) { $1 }
    return environment
}

/// Runs the built `inject-secrets ARGUMENTS` in `directory` with a scrubbed environment plus
/// `environment`, stdin closed, and fails the test if any of `canaries` (secret values, credentials,
/// tokens) reached a place it does not belong: stdout, stderr, or a file the run writes that holds no
/// value (see `assertNoCanaries`; `valuesOnlyIn` widens that to every file below `directory` but those).
@discardableResult
public func runTool(
    _ arguments: [String], in directory: URL, environment: [String: String] = [:], canaries: [String],
    valuesOnlyIn: [String]? = nil, timeout: TimeInterval = 300, file: StaticString = #filePath, line: UInt = #line
) throws -> ProcessResult {
    let environment = scrubbedEnvironment(home: directory, environment)
    let result = try runProcess(
        toolExecutable.path, arguments, environment: environment, currentDirectory: directory, timeout: timeout)
    assertNoCanaries(
        canaries, afterRunIn: directory, arguments: arguments, environment: environment,
        output: ["stdout": result.stdout, "stderr": result.stderr], valuesOnlyIn: valuesOnlyIn, file: file, line: line)
    return result
}

/// The built tool set up to run `arguments` in `directory` as `runTool` would (scrubbed environment plus
/// `environment`, stdin closed), for a test that signals it or reads its output itself. Check the run
/// with `assertNoCanaries` afterwards.
public func toolProcess(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) -> Process {
    let process = Process()
    process.executableURL = toolExecutable
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.environment = scrubbedEnvironment(home: directory, environment)
    process.standardInput = FileHandle.nullDevice
    return process
}

/// Fails the test if a canary is in `output` (a run's stdout, stderr, or other texts) or in a place a run
/// in `directory` with `arguments` and `environment` writes: every lock and render record below
/// `directory`, the audit log (`--audit-log` or `$INJECT_SECRETS_AUDIT_LOG`), the JUnit report
/// (`--report junit`) and the step summary (`$GITHUB_STEP_SUMMARY`). Annotations are workflow commands
/// on stdout. With `valuesOnlyIn` (paths relative to `directory`; a folder ends in `/`: the rendered
/// outputs, a file store), every other file below `directory` is checked too. For runs a test drives
/// itself (signals, stdin) and for texts a test gathered.
public func assertNoCanaries(
    _ canaries: [String], afterRunIn directory: URL, arguments: [String] = [], environment: [String: String] = [:],
    output: [String: String] = [:], valuesOnlyIn: [String]? = nil, file: StaticString = #filePath, line: UInt = #line
) {
    let leaks = canaryLeaks(
        canaries, afterRunIn: directory, arguments: arguments, environment: environment, output: output,
        valuesOnlyIn: valuesOnlyIn)
    for (canary, places) in leaks.sorted(by: { $0.key < $1.key }) {
        XCTFail("the canary \(canary) leaked into \(places)", file: file, line: line)
    }
}

/// What `assertNoCanaries` checks: each leaked canary with the places it is in.
public func canaryLeaks(
    _ canaries: [String], afterRunIn directory: URL, arguments: [String] = [], environment: [String: String] = [:],
    output: [String: String] = [:], valuesOnlyIn: [String]? = nil
) -> [String: [String]] {
    guard !canaries.isEmpty else { return [:] }
    var places = output
    places.merge(
        writtenChannels(in: directory, arguments: arguments, environment: environment, valuesOnlyIn: valuesOnlyIn)
    ) { $1 }
    var leaks: [String: [String]] = [:]
    for canary in canaries {
        let found = places.filter { $0.value.contains(canary) }.map(\.key).sorted()
        if !found.isEmpty { leaks[canary] = found }
    }
    return leaks
}

/// The texts of the files a run writes that hold no secret value, keyed by a path for the message.
private func writtenChannels(
    in directory: URL, arguments: [String], environment: [String: String], valuesOnlyIn: [String]?
) -> [String: String] {
    var places: [String: String] = [:]
    // Only what the tool writes is scanned, and only at a size it writes: a test's 2 GiB sparse file read
    // here would swell this process (and, through fork, the rusage of every later child).
    func scan(_ path: String, as name: String) {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
        guard let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int, size <= 64 << 20,
            let data = try? Data(contentsOf: url)
        else { return }
        places[name] = String(decoding: data, as: UTF8.self)
    }
    let names = (FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String]) ?? []
    for name in names {
        let base = (name as NSString).lastPathComponent
        if base == "inject-secrets.lock" || base == ".inject-secrets-state.json" {
            scan(name, as: name)
        } else if let allowed = valuesOnlyIn, !allowed.contains(where: { $0.hasSuffix("/") ? name.hasPrefix($0) : name == $0 }) {
            scan(name, as: name)
        }
    }
    if let audit = option("--audit-log", in: arguments) ?? environment["INJECT_SECRETS_AUDIT_LOG"] {
        scan(audit, as: "audit log \(audit)")
    }
    if let index = arguments.firstIndex(of: "--report"), arguments.count > index + 2, arguments[index + 1] == "junit" {
        scan(arguments[index + 2], as: "JUnit report \(arguments[index + 2])")
    }
    if let summary = environment["GITHUB_STEP_SUMMARY"] { scan(summary, as: "step summary \(summary)") }
    return places
}

/// The value of `--name VALUE` or `--name=VALUE` in `arguments`, before a `--` (after it: `exec`'s command).
private func option(_ name: String, in arguments: [String]) -> String? {
    let arguments = Array(arguments.prefix { $0 != "--" })
    for (index, argument) in arguments.enumerated() {
        if argument == name, index + 1 < arguments.count { return arguments[index + 1] }
        if argument.hasPrefix(name + "=") { return String(argument.dropFirst(name.count + 1)) }
    }
    return nil
}
