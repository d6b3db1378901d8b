import Foundation
import TestSupport
import XCTest

/// What scripts/release ships, used as a pipeline and a consumer would: the binary plugin package over
/// the artifact bundle (no compile of the tool), and the tarball's binary with no Swift toolchain
/// reachable. The release build takes minutes, so it runs once for the class.
final class ReleaseBundleTests: XCTestCase {
    static let version = "0.0.0-test"
    nonisolated(unsafe) static var dist: URL?
    nonisolated(unsafe) static var releaseFailure: String?

    override class func setUp() {
        super.setUp()
        do {
            let output = try makeTemporaryDirectory("release")
            let release = try runProcess(
                packageRoot.appendingPathComponent("scripts/release").path,
                ["--version", version, "--output", output.path, "--url-base", "https://example.com/releases/\(version)"],
                currentDirectory: packageRoot, timeout: 1800)
            if release.status == 0 { dist = output } else { releaseFailure = "scripts/release failed:\n" + release.stdout + release.stderr }
        } catch {
            releaseFailure = "scripts/release could not run: \(error)"
        }
    }

    override class func tearDown() {
        if let dist { try? FileManager.default.removeItem(at: dist) }
        dist = nil
        super.tearDown()
    }

    private func distribution() throws -> URL {
        if let failure = Self.releaseFailure { throw TestSupportError(failure) }
        return try XCTUnwrap(Self.dist)
    }

    func testBinaryPluginRendersAndChecksDriftWithoutCompilingTheTool() throws {
        let dist = try distribution()
        let folder = try makeTemporaryDirectory("binary-consumer")
        defer { try? FileManager.default.removeItem(at: folder) }
        let consumer = folder.appendingPathComponent("consumer")
        let fixture = packageRoot.appendingPathComponent("fixtures/consumer")
        try FileManager.default.createDirectory(at: consumer, withIntermediateDirectories: true)
        for name in ["inject-secrets.yaml", "secrets.yaml", "Sources"] {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(name), to: consumer.appendingPathComponent(name))
        }
        let pluginPackage = dist.appendingPathComponent("inject-secrets-plugin-local").path
        try String(contentsOf: fixture.appendingPathComponent("Package.swift.template"), encoding: .utf8)
            .replacingOccurrences(of: "@INJECT_SECRETS_PATH@", with: pluginPackage)
            .write(to: consumer.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
        // A cache of its own: nothing this run finds was put there by another.
        let cache = folder.appendingPathComponent("swiftpm-cache").path
        func plugin(_ arguments: [String]) throws -> ProcessResult {
            try runProcess(
                "swift", ["package", "--cache-path", cache, "--allow-writing-to-package-directory", "--allow-network-connections", "all", "inject-secrets"] + arguments,
                currentDirectory: consumer, timeout: 600)
        }

        let canary = "CANARY-consumer-api-key-1"
        let started = Date()
        let render = try plugin([])
        let firstRun = Date().timeIntervalSince(started)
        XCTAssertEqual(render.status, 0, render.allOutput)
        print("binary plugin: first render in \(String(format: "%.1f", firstRun)) s")
        assertToolNotCompiled(render, buildFolder: consumer.appendingPathComponent(".build"))
        XCTAssertFalse(render.allOutput.contains(canary))
        let rendered = try String(contentsOf: consumer.appendingPathComponent(".build/inject-secrets/handler.env"), encoding: .utf8)
        XCTAssertTrue(rendered.contains("API_KEY=\"\(canary)\""), rendered)
        let lock = try String(contentsOf: consumer.appendingPathComponent("inject-secrets.lock"), encoding: .utf8)
        XCTAssertTrue(lock.contains("\"version\": \"1\""), lock)
        XCTAssertFalse(lock.contains(canary))

        let clean = try plugin(["drift"])
        XCTAssertEqual(clean.status, 0, clean.allOutput)
        XCTAssertTrue(clean.stdout.contains("no drift"), clean.stdout)
        assertToolNotCompiled(clean, buildFolder: consumer.appendingPathComponent(".build"))

        // The pre-deploy gate: after a rotation, drift through the binary plugin fails and says why.
        try FileManager.default.removeItem(at: consumer.appendingPathComponent("secrets.yaml"))
        try FileManager.default.copyItem(
            at: fixture.appendingPathComponent("secrets.rotated.yaml"), to: consumer.appendingPathComponent("secrets.yaml"))
        let drift = try plugin(["drift"])
        XCTAssertNotEqual(drift.status, 0)
        XCTAssertTrue(drift.allOutput.contains("rotated"), drift.allOutput)
        XCTAssertFalse(drift.allOutput.contains("CANARY-consumer"))
    }

    /// Neither SwiftPM's output nor the build folder shows a compile of the tool or its library.
    private func assertToolNotCompiled(_ result: ProcessResult, buildFolder: URL, file: StaticString = #filePath, line: UInt = #line) {
        let compiles = result.allOutput.split(separator: "\n").filter {
            $0.contains("Compiling") || $0.contains("Build of product") || $0.contains("Building for")
        }
        XCTAssertEqual(compiles, [], "the binary plugin compiled something", file: file, line: line)
        let paths = FileManager.default.enumerator(atPath: buildFolder.path)?.compactMap { $0 as? String } ?? []
        let built = paths.filter { $0.hasSuffix("InjectSecretsCore.build") || $0.hasSuffix("inject_secrets.build") }
        XCTAssertEqual(built, [], "the tool was built from source", file: file, line: line)
    }

    func testPublishedPluginPackageDeclaresTheSourcePluginOverTheBundle() throws {
        let dist = try distribution()
        let published = dist.appendingPathComponent("inject-secrets-plugin")
        let zip = dist.appendingPathComponent("inject-secrets.artifactbundle.zip")

        let checksum = try runProcess("swift", ["package", "compute-checksum", zip.path])
        XCTAssertEqual(checksum.status, 0, checksum.stderr)
        let expected = checksum.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let manifest = try String(contentsOf: published.appendingPathComponent("Package.swift"), encoding: .utf8)
        XCTAssertTrue(manifest.contains("url: \"https://example.com/releases/\(Self.version)/inject-secrets.artifactbundle.zip\""), manifest)
        XCTAssertTrue(manifest.contains("checksum: \"\(expected)\""), manifest)

        // The same plugin declaration as this package's, so the binary plugin asks for the same permissions.
        // Scratch folders of their own: `swift test` holds the lock on this package's .build.
        let scratch = try makeTemporaryDirectory("dump-package")
        defer { try? FileManager.default.removeItem(at: scratch) }
        func pluginTarget(_ package: URL) throws -> NSDictionary {
            let dump = try runProcess(
                "swift", ["package", "--scratch-path", scratch.appendingPathComponent(package.lastPathComponent).path, "dump-package"],
                currentDirectory: package)
            XCTAssertEqual(dump.status, 0, dump.stderr)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
            let targets = try XCTUnwrap(json["targets"] as? [[String: Any]])
            var target = try XCTUnwrap(targets.first { $0["name"] as? String == "InjectSecretsPlugin" })
            target["path"] = nil
            return target as NSDictionary
        }
        XCTAssertEqual(try pluginTarget(published), try pluginTarget(packageRoot))

        // The plugin source is the repository's shim, byte for byte.
        for name in ["plugin.swift", "ToolVerb.swift"] {
            let shipped = try Data(contentsOf: published.appendingPathComponent("Plugins/InjectSecretsPlugin/\(name)"))
            let source = try Data(contentsOf: packageRoot.appendingPathComponent("Plugins/InjectSecretsPlugin/\(name)").resolvingSymlinksInPath())
            XCTAssertEqual(shipped, source, name)
        }

        let bundle = dist.appendingPathComponent("inject-secrets.artifactbundle")
        let info = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: bundle.appendingPathComponent("info.json"))) as? [String: Any])
        XCTAssertEqual(info["schemaVersion"] as? String, "1.0")
        let artifact = try XCTUnwrap((info["artifacts"] as? [String: Any])?["inject-secrets"] as? [String: Any])
        XCTAssertEqual(artifact["type"] as? String, "executable")
        XCTAssertEqual(artifact["version"] as? String, Self.version)
        let variants = try XCTUnwrap(artifact["variants"] as? [[String: Any]])
        #if os(Linux)
        XCTAssertEqual(variants.map { $0["supportedTriples"] as? [String] ?? [] }, [["x86_64-unknown-linux-gnu"]])
        #endif
        for variant in variants {
            let path = try XCTUnwrap(variant["path"] as? String)
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: bundle.appendingPathComponent(path).path), path)
        }
    }

    #if os(Linux)
    func testTarballBinaryRunsTheDemoWithNoSwiftReachable() throws {
        let dist = try distribution()
        let name = "inject-secrets-\(Self.version)-x86_64-unknown-linux-gnu"
        let verify = try runProcess("sha256sum", ["-c", "\(name).tar.gz.sha256"], currentDirectory: dist)
        XCTAssertEqual(verify.status, 0, verify.allOutput)

        let folder = try makeTemporaryDirectory("tarball")
        defer { try? FileManager.default.removeItem(at: folder) }
        let untar = try runProcess("tar", ["-xzf", dist.appendingPathComponent("\(name).tar.gz").path, "-C", folder.path])
        XCTAssertEqual(untar.status, 0, untar.stderr)
        let binary = folder.appendingPathComponent("\(name)/inject-secrets").path

        let ldd = try runProcess("ldd", [binary], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertEqual(ldd.status, 0, ldd.stderr)
        XCTAssertFalse(ldd.stdout.contains("/opt/swift") || ldd.stdout.contains("not found") || ldd.stdout.contains("libswift"), ldd.stdout)

        let demo = folder.appendingPathComponent("demo")
        try FileManager.default.createDirectory(at: demo, withIntermediateDirectories: true)
        let fixture = packageRoot.appendingPathComponent("fixtures/demo")
        for file in ["inject-secrets.yaml", "secrets.dev.yaml", "inject-secrets.lock"] {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(file), to: demo.appendingPathComponent(file))
        }
        // An empty environment with the system's PATH, and the toolchain's folder hidden behind an empty
        // tmpfs in a mount namespace of its own, so that nothing of Swift can be found.
        let hidesToolchain = (try? runProcess("unshare", ["--mount", "true"]))?.status == 0
        if !hidesToolchain, isCI { XCTFail("unshare --mount is refused here: cannot hide /opt/swift") }
        func alone(_ arguments: [String]) throws -> ProcessResult {
            let run = ["env", "-i", "PATH=/usr/bin:/bin", "HOME=\(demo.path)", binary] + arguments
            if hidesToolchain {
                return try runProcess("unshare", ["--mount", "sh", "-c", #"mount -t tmpfs none /opt/swift && exec "$@""#, "sh"] + run, currentDirectory: demo)
            }
            return try runProcess("/usr/bin/env", Array(run.dropFirst()), currentDirectory: demo)
        }

        let validate = try alone(["validate"])
        XCTAssertEqual(validate.status, 0, validate.allOutput)
        let committed = try Data(contentsOf: demo.appendingPathComponent("inject-secrets.lock"))
        let render = try alone(["render"])
        XCTAssertEqual(render.status, 0, render.allOutput)
        XCTAssertFalse(render.allOutput.contains("demo-password-2"))
        XCTAssertEqual(try Data(contentsOf: demo.appendingPathComponent("inject-secrets.lock")), committed)
        let checkout = try String(contentsOf: demo.appendingPathComponent(".build/inject-secrets/checkout.env"), encoding: .utf8)
        XCTAssertTrue(checkout.contains("DB_PASSWORD=\"demo-password-2\""), checkout)
        let clean = try alone(["drift"])
        XCTAssertEqual(clean.status, 0, clean.allOutput)

        // The gate's exit code: a rotation in the store is drift (1), whose report names the secret.
        let store = demo.appendingPathComponent("secrets.dev.yaml")
        try String(contentsOf: store, encoding: .utf8).replacingOccurrences(of: "current: \"2\"\n  versions:\n    \"1\": { user: shop", with: "current: \"1\"\n  versions:\n    \"1\": { user: shop")
            .write(to: store, atomically: true, encoding: .utf8)
        let drift = try alone(["drift", "--format", "json"])
        XCTAssertEqual(drift.status, 1, drift.allOutput)
        XCTAssertTrue(drift.stdout.contains("\"kind\": \"rotated\""), drift.stdout)
        XCTAssertFalse(drift.allOutput.contains("demo-password"))
    }
    #endif
}
