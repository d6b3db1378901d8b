import Foundation
import XCTest
import InjectSecretsKit
import ProviderConformance
import TestSupport

/// The `SecretProvider` contract (`ProviderConformance`) on a real OpenBao.
final class VaultConformanceTests: XCTestCase {
    func testVaultMeetsTheProviderContract() async throws {
        let bao: OpenBao
        switch OpenBao.start() {
        case .success(let started): bao = started
        case .failure(let error):
            if isCI { throw error }
            throw XCTSkip("\(error)")
        }
        defer { bao.stop() }
        let old = Canary("old"), new = Canary("new"), other = Canary("other")
        let path = "conformance-\(UUID().uuidString.prefix(8))/db"
        try await bao.put(path, ["password": old.value])
        try await bao.put(path, ["password": new.value])
        try await bao.put(path + "-other", ["password": other.value])
        // A token whose policy reads only the other secret: its read of `path` is refused.
        try bao.writePolicy("conformance-other", #"path "secret/data/\#(path)-other" { capabilities = ["read"] }"#)
        let narrow = try bao.token(policies: ["conformance-other"])

        let store = ProviderConformance.Store(
            provider: try makeVaultProvider("{type: vault, address: '\(bao.address)'}", environment: ["VAULT_TOKEN": "root"]),
            present: [
                .init(id: path, value: #"{"password":"\#(new.value)"}"#),
                .init(id: path, policy: .version("1"), value: #"{"password":"\#(old.value)"}"#),
                .init(id: path + "-other", value: #"{"password":"\#(other.value)"}"#),
            ],
            missingID: "conformance-missing-\(UUID().uuidString.prefix(8))",
            denied: (try makeVaultProvider("{type: vault, address: '\(bao.address)'}", environment: ["VAULT_TOKEN": narrow]), path),
            canaries: [old.value, new.value, other.value, narrow])
        let violations = await ProviderConformance.check(store)
        XCTAssertEqual(violations, [], violations.joined(separator: "\n"))
    }
}
