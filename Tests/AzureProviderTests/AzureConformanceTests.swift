import Foundation
import InjectSecretsAzure
import InjectSecretsKit
import ProviderConformance
import TestSupport
import XCTest

/// The `SecretProvider` contract (`ProviderConformance`) on the Key Vault stand-in.
final class AzureConformanceTests: XCTestCase {
    func testAzureKeyVaultMeetsTheProviderContract() async throws {
        guard which("python3") != nil else {
            let message = try missingServer("python3 (for the Key Vault stand-in)", install: "apt-get install python3")
            throw XCTSkip(message)
        }
        let fake = try FakeKeyVault()
        defer { fake.stop() }
        let tenant = "11111111-1111-1111-1111-111111111111", clientID = "22222222-2222-2222-2222-222222222222"
        let clientSecret = Canary("client-secret"), old = Canary("old"), new = Canary("new"), denied = Canary("denied")
        try await fake.control("configure", [
            "tenant": tenant, "clients": [clientID: ["tenants": [tenant], "secret": clientSecret.value]],
        ])
        let first = try await fake.seed("conformance-db", old.value)
        _ = try await fake.seed("conformance-db", new.value)
        _ = try await fake.seed("conformance-denied", denied.value)
        // Key Vault refuses the credential every read of this secret: a 403 Forbidden, as an access
        // policy without 'get' answers.
        try await fake.control("fault", ["prefix": "/secrets/conformance-denied", "status": 403, "count": 100])

        func provider() throws -> any SecretProvider {
            let node = try YAMLReader.read(
                Data("{type: azure-key-vault, vault-url: '\(fake.baseURL)'}".utf8), path: "inject-secrets.yaml")!
            return try AzureKeyVaultKind.make(ProviderDeclaration(
                name: "azure", type: AzureKeyVaultKind.typeName, node: node,
                baseDirectory: URL(fileURLWithPath: NSTemporaryDirectory()),
                environment: [
                    "AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": clientID, "AZURE_CLIENT_SECRET": clientSecret.value,
                    "AZURE_AUTHORITY_HOST": fake.baseURL,
                ]))
        }
        let store = ProviderConformance.Store(
            provider: try provider(),
            present: [.init(id: "conformance-db", value: new.value), .init(id: "conformance-db", policy: .version(first), value: old.value)],
            missingID: "conformance-missing", denied: (try provider(), "conformance-denied"),
            canaries: [old.value, new.value, denied.value, clientSecret.value])
        let violations = await ProviderConformance.check(store)
        XCTAssertEqual(violations, [], violations.joined(separator: "\n"))
    }
}
