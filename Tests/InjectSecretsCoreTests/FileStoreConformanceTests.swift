import Foundation
import InjectSecretsCore
import InjectSecretsKit
import ProviderConformance
import TestSupport
import XCTest

/// The `SecretProvider` contract (`ProviderConformance`) on the file store, in process. A file store has
/// no access control, so the refused-credential requirement does not apply.
final class FileStoreConformanceTests: XCTestCase {
    func testFileStoreMeetsTheProviderContract() async throws {
        let directory = try makeTemporaryDirectory("file-conformance")
        defer { try? FileManager.default.removeItem(at: directory) }
        let old = Canary("old"), new = Canary("new"), token = Canary("token")
        try """
            prod/db:
              current: "2"
              versions:
                "1": { password: "\(old.value)" }
                "2": { password: "\(new.value)" }
            api-token:
              current: v1
              versions:
                v1: "\(token.value)"
            """.write(to: directory.appendingPathComponent("store.yaml"), atomically: true, encoding: .utf8)
        let store = ProviderConformance.Store(
            provider: FileStore(name: "local", url: directory.appendingPathComponent("store.yaml"), displayPath: "store.yaml"),
            present: [
                .init(id: "prod/db", value: #"{"password":"\#(new.value)"}"#),
                .init(id: "prod/db", policy: .version("1"), value: #"{"password":"\#(old.value)"}"#),
                .init(id: "api-token", value: token.value),
            ],
            missingID: "prod/missing", canaries: [old.value, new.value, token.value])
        let violations = await ProviderConformance.check(store)
        XCTAssertEqual(violations, [], violations.joined(separator: "\n"))
    }
}
