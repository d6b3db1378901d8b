import Foundation
import InjectSecretsAzure
import InjectSecretsKit
import ProviderConformance
import TestSupport
import XCTest

/// The `SecretProvider` contract (`ProviderConformance`) on the Key Vault stand-in.
final class AzureConformanceTests: KeyVaultTestCase {
    func testAzureKeyVaultMeetsTheProviderContract() async throws {
        let old = canary("old"), new = canary("new"), denied = canary("denied")
        let first = try await fake.seed("conformance-db", old.value)
        _ = try await fake.seed("conformance-db", new.value)
        _ = try await fake.seed("conformance-denied", denied.value)
        // Key Vault refuses the credential every read of this secret: a 403 Forbidden, as an access
        // policy without 'get' answers.
        try await fake.control("fault", ["prefix": "/secrets/conformance-denied", "status": 403, "count": 100])

        let store = ProviderConformance.Store(
            provider: try makeProvider(clientSecretEnvironment),
            present: [.init(id: "conformance-db", value: new.value), .init(id: "conformance-db", policy: .version(first), value: old.value)],
            missingID: "conformance-missing", denied: (try makeProvider(clientSecretEnvironment), "conformance-denied"),
            canaries: watched)
        let violations = await ProviderConformance.check(store)
        XCTAssertEqual(violations, [], violations.joined(separator: "\n"))
    }
}
