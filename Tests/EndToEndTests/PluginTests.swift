import Foundation
import TestSupport
import XCTest

/// The command plugin for real: a consumer package that depends on this repository by path runs
/// `swift package inject-secrets`.
final class PluginTests: XCTestCase {
    func testConsumerPackageRendersAndChecksDriftThroughThePlugin() throws {
        let consumer = try makeTemporaryDirectory("consumer")
        defer { try? FileManager.default.removeItem(at: consumer) }
        let fixture = packageRoot.appendingPathComponent("fixtures/consumer")
        for name in ["inject-secrets.yaml", "secrets.yaml", "Sources"] {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(name), to: consumer.appendingPathComponent(name))
        }
        let template = try String(contentsOf: fixture.appendingPathComponent("Package.swift.template"), encoding: .utf8)
        try template.replacingOccurrences(of: "@INJECT_SECRETS_PATH@", with: packageRoot.path)
            .write(to: consumer.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)

        // One build folder kept across runs (git ignores .build-*): the consumer builds our dependencies.
        let scratch = packageRoot.appendingPathComponent(".build-consumer").path
        func swiftPackage(_ arguments: [String]) throws -> ProcessResult {
            try runProcess("swift", ["package", "--scratch-path", scratch] + arguments, currentDirectory: consumer, timeout: 1500)
        }

        let list = try swiftPackage(["plugin", "--list"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("inject-secrets"), list.stdout)

        let canary = "CANARY-consumer-api-key-1"
        // No subcommand means render; the manifest is found at the package root.
        let render = try swiftPackage(["--allow-writing-to-package-directory", "--allow-network-connections", "all", "inject-secrets"])
        XCTAssertEqual(render.status, 0, render.stdout + render.stderr)
        XCTAssertFalse(render.allOutput.contains(canary))
        let rendered = try String(contentsOf: consumer.appendingPathComponent(".build/inject-secrets/handler.env"), encoding: .utf8)
        XCTAssertTrue(rendered.contains(canary))
        let lock = try String(contentsOf: consumer.appendingPathComponent("inject-secrets.lock"), encoding: .utf8)
        XCTAssertTrue(lock.contains("\"version\": \"1\""))
        XCTAssertFalse(lock.contains(canary))

        let clean = try swiftPackage(["--allow-writing-to-package-directory", "--allow-network-connections", "all", "inject-secrets", "drift"])
        XCTAssertEqual(clean.status, 0, clean.stdout + clean.stderr)
        XCTAssertTrue(clean.stdout.contains("no drift"), clean.stdout)

        // exec through the plugin: the manifest option goes before '--', so the command arrives intact
        // and gets the value in its environment (it writes it to a file; nothing prints it).
        let exec = try swiftPackage([
            "--allow-writing-to-package-directory", "--allow-network-connections", "all", "inject-secrets", "exec",
            "--function", "handler", "--", "sh", "-c", #"printf %s "$API_KEY" > seen.txt"#,
        ])
        XCTAssertEqual(exec.status, 0, exec.stdout + exec.stderr)
        XCTAssertEqual(try String(contentsOf: consumer.appendingPathComponent("seen.txt"), encoding: .utf8), canary)
        XCTAssertFalse(exec.allOutput.contains(canary))
        try FileManager.default.removeItem(at: consumer.appendingPathComponent("seen.txt"))

        // rotate never reads the plugin's closed stdin.
        let stdin = try swiftPackage([
            "--allow-writing-to-package-directory", "--allow-network-connections", "all", "inject-secrets", "rotate", "api",
            "--value-from-file", "-",
        ])
        XCTAssertNotEqual(stdin.status, 0)
        XCTAssertTrue(stdin.allOutput.contains("which the SwiftPM plugin closes"), stdin.allOutput)

        // A rotation: drift through the plugin fails and says why.
        try FileManager.default.removeItem(at: consumer.appendingPathComponent("secrets.yaml"))
        try FileManager.default.copyItem(
            at: fixture.appendingPathComponent("secrets.rotated.yaml"), to: consumer.appendingPathComponent("secrets.yaml"))
        let drift = try swiftPackage(["--allow-writing-to-package-directory", "--allow-network-connections", "all", "inject-secrets", "drift", "--format", "json"])
        XCTAssertNotEqual(drift.status, 0)
        XCTAssertTrue(drift.stdout.contains("\"kind\": \"rotated\""), drift.stdout)
        XCTAssertTrue(drift.stderr.contains("drift found"), drift.stderr)
        XCTAssertFalse(drift.allOutput.contains("CANARY-consumer"))

        // A manifest error surfaces in the compiler format through the plugin.
        try "version: 1\nfunctons: {}\n".write(to: consumer.appendingPathComponent("inject-secrets.yaml"), atomically: true, encoding: .utf8)
        let invalid = try swiftPackage(["--allow-writing-to-package-directory", "--allow-network-connections", "all", "inject-secrets", "validate"])
        XCTAssertNotEqual(invalid.status, 0)
        // SwiftPM relays the tool's stderr on its own stdout; the place is there either way.
        XCTAssertTrue(invalid.allOutput.contains("inject-secrets.yaml:2:1: error: unknown key 'functons'"), invalid.allOutput)
    }
}
