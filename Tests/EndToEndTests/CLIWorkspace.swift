import Foundation
import TestSupport
import XCTest

/// A temporary project folder with a manifest and a file store, and a way to run the built
/// `inject-secrets` in it. Every run is checked for canary leaks in stdout, stderr, the lock and the
/// render record, so no test can let a secret value slip into them unnoticed.
final class CLIWorkspace {
    let directory: URL
    /// Values planted in the store that must never appear outside rendered outputs.
    private(set) var canaries: [String] = []

    init(_ label: String = "e2e") throws {
        directory = try makeTemporaryDirectory(label)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A canary value to plant in the store.
    func canary(_ label: String) -> String {
        let value = Canary(label).value
        canaries.append(value)
        return value
    }

    /// Watches for a value derived from a canary (a variant, a longer value holding one).
    func watch(_ value: String) {
        canaries.append(value)
    }

    /// A manifest reading one file store, `store.yaml`: `secrets` and `functions` are the lines under
    /// those keys, indented by two spaces here.
    static func fileStoreManifest(secrets: [String], functions: [String]) -> String {
        (["version: 1", "providers:", "  local: { type: file, path: store.yaml }", "secrets:"] + secrets.map { "  " + $0 }
            + ["functions:"] + functions.map { "  " + $0 }).joined(separator: "\n") + "\n"
    }

    func write(_ files: [String: String]) throws {
        try writeFiles(files, in: directory)
    }

    func url(_ path: String) -> URL { directory.appendingPathComponent(path) }

    func read(_ path: String) -> String? {
        (try? Data(contentsOf: url(path))).map { String(decoding: $0, as: UTF8.self) }
    }

    func bytes(_ path: String) -> Data? { try? Data(contentsOf: url(path)) }

    var lock: String? { read("inject-secrets.lock") }

    /// Runs `inject-secrets ARGS` in the workspace and asserts that no canary leaked.
    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        let result = try runProcess(
            productsDirectory.appendingPathComponent("inject-secrets").path, arguments, environment: env,
            currentDirectory: directory, timeout: 300)
        assertNoLeaks(in: ["stdout": result.stdout, "stderr": result.stderr], file: file, line: line)
        return result
    }

    /// Asserts that no canary is in `texts`, nor in the lock or any render record below the workspace.
    func assertNoLeaks(in texts: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) {
        var places = texts
        // Only what the tool writes is scanned, and only at a size it writes: a test's 2 GiB sparse file
        // read here would swell this process (and, through fork, the rusage of every later child).
        func scan(_ path: String) -> String? {
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size <= 64 << 20 else { return nil }
            return (try? Data(contentsOf: URL(fileURLWithPath: path))).map { String(decoding: $0, as: UTF8.self) }
        }
        if let lock = scan(url("inject-secrets.lock").path) { places["inject-secrets.lock"] = lock }
        let names = (FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String]) ?? []
        for name in names where name.hasSuffix(".inject-secrets-state.json") {
            if let text = scan(url(name).path) { places[name] = text }
        }
        for canary in canaries {
            let leaks = places.filter { $0.value.contains(canary) }.map(\.key).sorted()
            XCTAssertEqual(leaks, [], "a canary value leaked into \(leaks)", file: file, line: line)
        }
    }
}

extension CLIWorkspace {
    /// A manifest of `count` functions `fn0...`, each writing `out/fnN.env` from the file store's
    /// `prod/db` (store.yaml): the many-output run of the filesystem and signal tests.
    static func fanOutManifest(functions count: Int) -> String {
        var manifest = """
            version: 1
            providers:
              local: { type: file, path: store.yaml }
            secrets:
              db: { provider: local, id: prod/db }
            defaults:
              output-dir: out
              outputs: [{ format: dotenv }]
            functions:

            """
        for index in 0..<count { manifest += "  fn\(index):\n    env: { DB: \"${secrets.db}\" }\n" }
        return manifest
    }
}

extension ProcessResult {
    /// stderr lines in the compiler format.
    var errorLines: [String] { stderr.split(separator: "\n").map(String.init).filter { $0.contains("error:") } }
}
