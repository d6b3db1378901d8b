import Foundation
import TestSupport
import XCTest

/// The README's first command: the demo renders on the embedded file store, and its committed lock is
/// exactly what that render writes.
final class DemoFixtureTests: XCTestCase {
    func testDemoRendersAndKeepsItsCommittedLock() throws {
        let workspace = try CLIWorkspace("demo")
        let demo = packageRoot.appendingPathComponent("fixtures/demo")
        for name in ["inject-secrets.yaml", "secrets.dev.yaml", "inject-secrets.lock"] {
            try FileManager.default.copyItem(at: demo.appendingPathComponent(name), to: workspace.url(name))
        }
        let committed = workspace.bytes("inject-secrets.lock")
        let render = try workspace.run(["render"], environment: ["GITHUB_SHA": "demo"])
        XCTAssertEqual(render.status, 0, render.stderr)
        XCTAssertEqual(workspace.bytes("inject-secrets.lock"), committed, "render changed the committed demo lock")
        for output in ["checkout.env", "checkout.lambda.json", "worker.sh", "worker.json", "notifier.yaml"] {
            XCTAssertNotNil(workspace.read(".build/inject-secrets/" + output), output)
        }
        XCTAssertTrue(workspace.read(".build/inject-secrets/notifier.yaml")!.contains("Hello ${name}"))
        XCTAssertEqual(try workspace.run(["drift"], environment: ["GITHUB_SHA": "demo"]).status, 0)
        XCTAssertEqual(try workspace.run(["validate"]).status, 0)
    }
}
