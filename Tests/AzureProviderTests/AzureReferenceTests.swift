import Foundation
@testable import InjectSecretsKit
import TestSupport
import XCTest

/// `${ref.*}` on Azure Key Vault through the executable: the App Service / Azure Functions reference
/// syntax, written from the version list alone (no value read), resolved against the stand-in as the
/// platform would (a GET of SecretUri with the app's token), locked and drifting like a value.
extension AzureEndToEndTests {
    /// `@Microsoft.KeyVault(SecretUri=https://VAULT/secrets/NAME/VERSION)` as Microsoft documents it (the
    /// version left empty to follow the current one); the stand-in's vault is plain HTTP on loopback.
    static let keyVaultReference = #"^@Microsoft\.KeyVault\(SecretUri=(https?://[^/()]+)/secrets/([0-9A-Za-z-]{1,127})/([0-9a-f]{32})?\)$"#

    func parts(_ reference: String) throws -> (vault: String, name: String, version: String?) {
        let regex = try NSRegularExpression(pattern: Self.keyVaultReference)
        let match = try XCTUnwrap(regex.firstMatch(in: reference, range: NSRange(reference.startIndex..., in: reference)), reference)
        func group(_ index: Int) -> String? {
            Range(match.range(at: index), in: reference).map { String(reference[$0]) }
        }
        return (try XCTUnwrap(group(1)), try XCTUnwrap(group(2)), group(3))
    }

    /// The setUp manifest with checkout's `env` replaced (on line 8) and a JSON output.
    func writeCheckout(env: String) throws {
        try writeManifest(functions: """
              checkout:
                env: \(env)
                outputs: [{ format: json, path: out/checkout.json }]
            """)
    }

    func testReferencesUseAppServiceSyntaxReadNoValueAndResolveAgainstTheVault() async throws {
        let (v1, password) = try await seedDB()
        try writeCheckout(env: #"{ DB_SETTINGS: "${ref.db}", DB_LATEST: "${ref.db:current}" }"#)
        let render = try run(["render"])
        XCTAssertEqual(render.status, 0, render.stderr)
        let reads = try await fake.counters().valueReads
        XCTAssertEqual(reads["prod-db"], nil, "render read the value of a secret it only references")
        let output = try XCTUnwrap(read("out/checkout.json"))
        XCTAssertEqual(password.leaks(in: ["output": output]), [])
        let environment = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: String])
        let pinned = try parts(try XCTUnwrap(environment["DB_SETTINGS"]))
        XCTAssertEqual(pinned.vault, fake.baseURL)
        XCTAssertEqual(pinned.name, "prod-db")
        XCTAssertEqual(pinned.version, v1)
        let latest = try parts(try XCTUnwrap(environment["DB_LATEST"]))
        XCTAssertNil(latest.version, "no version: the platform follows the current one")
        XCTAssertTrue(try XCTUnwrap(read("inject-secrets.lock")).contains("\"version\": \"\(v1)\""))

        // As App Service does at start: GET the SecretUri's secret (with the app's identity) from that vault.
        let provider = try makeProvider(clientSecretEnvironment, vaultURL: pinned.vault)
        let reference = SecretReference(name: "db", id: pinned.name, policy: .version(try XCTUnwrap(pinned.version)))
        let resolved = try await provider.fetch([reference])[reference]?.get()
        XCTAssertTrue(resolved?.value.text == #"{"user":"app","password":"\#(password.value)"}"#, "the reference resolves to the seeded value")

        // A rotation makes the pinned reference stale; the following one is noted, not stale.
        let (v2, _) = try await seedDB()
        let drift = try run(["drift", "--format", "json"])
        XCTAssertEqual(drift.status, 1, drift.stdout + drift.stderr)
        XCTAssertTrue(drift.stdout.contains("\"rotated\"") && drift.stdout.contains(v2), drift.stdout)
        XCTAssertEqual(try run(["render"]).status, 0)
        let moved = try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(read("out/checkout.json")).utf8)) as? [String: String]
        XCTAssertEqual(try parts(try XCTUnwrap(moved?["DB_SETTINGS"])).version, v2)
        let readsAfter = try await fake.counters().valueReads
        XCTAssertEqual(readsAfter["prod-db"], 1, "only the resolution above read the value: drift and render did not")

        // policy: the render role reads version lists only; the Function App's identity reads the values.
        let policy = try run(["policy", "--format", "json"])
        XCTAssertEqual(policy.status, 0, policy.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(policy.stdout.utf8)) as? [String: Any])
        let renderRoles = ((document["functions"] as? [String: [String: Any]])?["checkout"]?["azure"] as? [[String: Any]]) ?? []
        XCTAssertEqual(renderRoles.compactMap { $0["role"] as? String }, ["Key Vault Reader"])
        let runtimeRoles = ((document["runtime"] as? [String: [String: Any]])?["checkout"]?["azure"] as? [[String: Any]]) ?? []
        XCTAssertEqual(runtimeRoles.compactMap { $0["role"] as? String }, ["Key Vault Secrets User"])
        XCTAssertEqual(runtimeRoles.first?["scope"] as? String, "{vault resource id}/secrets/prod-db")
        let text = try run(["policy"])
        XCTAssertTrue(text.stdout.contains("--assignee \"$FUNCTION_APP_PRINCIPAL_ID\""), text.stdout)
    }

    func testAFieldOfAnAzureSecretCannotBeReferenced() throws {
        try writeCheckout(env: #"{ DB: "${ref.db.password}" }"#)
        for command in ["validate", "render"] {
            let result = try run([command])
            XCTAssertEqual(result.status, 2, result.stderr)
            XCTAssertTrue(result.stderr.contains("inject-secrets.yaml:8:17: error: ${ref.db.password} in DB of function 'checkout': App Service resolves a Key Vault reference to the whole secret"), result.stderr)
        }
    }
}
