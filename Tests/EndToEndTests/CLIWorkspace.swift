import Foundation
import TestSupport
import XCTest

/// A temporary project folder with a manifest and a file store, and a way to run the built
/// `inject-secrets` in it. Every run is checked for canary leaks (`runTool`), so no test can let a
/// secret value slip into a message or a written file unnoticed.
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

    /// Copies the project `Fixtures/NAME` into the workspace, each `@KEY@` replaced by `values[KEY]`.
    func copyFixture(_ name: String, values: [String: String]) throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            var text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for (key, value) in values { text = text.replacingOccurrences(of: "@\(key)@", with: value) }
            guard text.range(of: "@[A-Z_]+@", options: .regularExpression) == nil else {
                throw TestSupportError("Fixtures/\(name)/\(file) has a placeholder with no value")
            }
            try write([file: text])
        }
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

    /// Runs `inject-secrets ARGS` in the workspace (see `runTool`): no canary may leak.
    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try runTool(arguments, in: directory, environment: environment, canaries: canaries, file: file, line: line)
    }

    /// Asserts that no canary is in `texts`, nor in the lock or any render record below the workspace
    /// (nor, with `valuesOnlyIn`, in any other file: see `assertNoCanaries`).
    func assertNoLeaks(
        in texts: [String: String] = [:], valuesOnlyIn: [String]? = nil, file: StaticString = #filePath, line: UInt = #line
    ) {
        assertNoCanaries(canaries, afterRunIn: directory, output: texts, valuesOnlyIn: valuesOnlyIn, file: file, line: line)
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
