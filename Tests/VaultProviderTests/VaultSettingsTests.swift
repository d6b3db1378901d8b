import Foundation
import XCTest
@testable import InjectSecretsKit
@testable import InjectSecretsVault
import TestSupport

/// A Vault declaration's settings are read once (`VaultKind.settings`): the provider and the policy take
/// the same trimmed values, so what is sent is what is printed.
final class VaultSettingsTests: XCTestCase {
    func declaration(_ yaml: String, environment: [String: String] = ["VAULT_TOKEN": "t"]) throws -> ProviderDeclaration {
        let node = try XCTUnwrap(try YAMLReader.read(Data(yaml.utf8), path: "inject-secrets.yaml"))
        return ProviderDeclaration(
            name: "vault", type: "vault", node: node, baseDirectory: URL(fileURLWithPath: NSTemporaryDirectory()),
            environment: environment)
    }

    func testANamespaceWithASlashIsSentAndPrintedTrimmed() async throws {
        let declared = try declaration("{type: vault, address: 'http://127.0.0.1:8200', namespace: team-a/, mount: /kv/}")
        let settings = try VaultKind.settings(declared)
        XCTAssertEqual(settings.namespace, "team-a")
        XCTAssertEqual(settings.mount, "kv")

        let script = ScriptedTransport([.respond(HTTPResponse(
            status: 200, headers: ["content-type": "application/json"],
            body: Data(#"{"data":{"data":{"user":"app"},"metadata":{"version":1,"deletion_time":"","destroyed":false}}}"#.utf8)))])
        let provider = VaultKind.makeVault(settings, client: HTTPClient(transport: script, proxyEnvironment: [:]), retry: RetryPolicy(maxAttempts: 1))
        _ = try await provider.fetchOne(reference("db", "app/db")).get()
        let sent = try XCTUnwrap(script.sent.first?.request)
        XCTAssertEqual(sent.headers.first { $0.0 == "X-Vault-Namespace" }?.1, "team-a")
        XCTAssertEqual(sent.url.absoluteString, "http://127.0.0.1:8200/v1/kv/data/app/db")

        let policy = try VaultKind.accessPolicy(AccessPolicyRequest(
            declaration: declared, secrets: [PolicySecret(name: "db", id: "app/db", policy: .current, locked: nil)],
            purpose: .render, function: "checkout"))
        XCTAssertTrue(policy.text.contains("KV v2 mount 'kv', namespace 'team-a'\n"), policy.text)
        XCTAssertTrue(policy.text.contains(#"path "kv/data/app/db""#), policy.text)
        XCTAssertTrue(policy.notes.contains { $0.contains("-namespace=team-a ") }, "\(policy.notes)")
        XCTAssertFalse((policy.text + policy.notes.joined()).contains("team-a/"), "printed as sent")
    }

    /// The environment's VAULT_NAMESPACE is trimmed the same way, and an empty one is no namespace.
    func testTheEnvironmentsNamespaceIsTrimmedAlike() throws {
        let fromEnvironment = try VaultKind.settings(declaration(
            "{type: vault, address: 'http://127.0.0.1:8200'}", environment: ["VAULT_NAMESPACE": "/team-b/"]))
        XCTAssertEqual(fromEnvironment.namespace, "team-b")
        let none = try VaultKind.settings(declaration(
            "{type: vault, address: 'http://127.0.0.1:8200', namespace: '/'}", environment: ["VAULT_NAMESPACE": "ignored"]))
        XCTAssertNil(none.namespace)
    }

    /// Reading settings builds nothing: a bad setting fails with its place, before any provider exists.
    func testBadSettingsFailWithTheirPlace() throws {
        XCTAssertThrowsError(try VaultKind.settings(declaration("{type: vault, address: 'http://127.0.0.1:8200', mount: '//'}"))) { error in
            XCTAssertTrue("\(error)".contains("inject-secrets.yaml:1:"), "\(error)")
            XCTAssertTrue("\(error)".contains("'mount' of provider 'vault' is empty"), "\(error)")
        }
    }
}
