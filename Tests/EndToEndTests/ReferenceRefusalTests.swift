import Foundation
import TestSupport
import XCTest

/// `${ref.*}` on a store nothing resolves at run time (the file store here; Vault alike): every command
/// that reads the manifest refuses it with its place, exit 2, before any store is read or file written.
final class ReferenceRefusalTests: XCTestCase {
    func testFileStoreReferencesAreRefusedWithTheirPlaceAndNothingIsWritten() throws {
        let workspace = try CLIWorkspace("ref-refusal")
        let value = workspace.canary("ref-file")
        try workspace.write([
            "store.yaml": "db:\n  current: '1'\n  versions: { '1': \(value) }\n",
            "inject-secrets.yaml": CLIWorkspace.fileStoreManifest(
                secrets: ["db: { provider: local, id: db }"],
                functions: ["app:", "  env: { DB: \"${ref.db}\" }"]),
        ])
        for command in [["validate"], ["render"], ["render", "--locked"], ["drift"], ["policy"]] {
            let result = try workspace.run(command)
            XCTAssertEqual(result.status, 2, "\(command): \(result.stderr)")
            XCTAssertTrue(
                result.stderr.contains("inject-secrets.yaml:8:17: error: ${ref.db} in DB of function 'app': secret 'db' is in a store of type 'file', which nothing resolves at run time"),
                "\(command): \(result.stderr)")
        }
        XCTAssertNil(workspace.lock)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.url(".build/inject-secrets").path))
    }
}
