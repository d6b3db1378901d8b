import Foundation
import TestSupport
import XCTest

@testable import InjectSecretsAzure
@testable import InjectSecretsKit

/// A test class against the Key Vault stand-in (fake_key_vault.py), as `OpenBaoTestCase` and
/// `MotoTestCase` are against theirs: one stand-in for the class (starting python3 costs seconds on a
/// busy machine), started before its first test and stopped by its PID after its last, reset and given
/// one tenant and client before every test. Without python3 each test is skipped, loudly; under
/// CI=true it fails.
class KeyVaultTestCase: XCTestCase {
    static let tenant = "11111111-1111-1111-1111-111111111111"
    static let clientID = "22222222-2222-2222-2222-222222222222"
    // One class runs at a time, so one slot serves every subclass in turn.
    nonisolated(unsafe) static var started: Result<FakeKeyVault, Error>?

    override class func setUp() {
        super.setUp()
        started = Result {
            guard which("python3") != nil else {
                throw TestSupportError(try missingServer("python3 (for the Key Vault stand-in)", install: "apt-get install python3"))
            }
            return try FakeKeyVault()
        }
    }

    override class func tearDown() {
        if case .success(let fake) = started { fake.stop() }
        started = nil
        super.tearDown()
    }

    var fake: FakeKeyVault!
    var directory: URL!
    /// The client's secret, its federated assertion and the managed identity header: credentials, so
    /// none may show up in any message.
    let clientSecret = Canary("client-secret")
    let assertion = Canary("federated-assertion")
    let identityHeader = Canary("identity-header")
    /// Every value planted by this test.
    var canaries: [Canary] = []
    /// What no run of the tool may print or write outside its rendered outputs: the canaries, the
    /// credentials and the stand-in's access tokens (they all start with "fake-token-").
    var watched: [String] {
        (canaries + [clientSecret, assertion, identityHeader]).map(\.value) + ["fake-token-"]
    }

    override func setUp() async throws {
        try await super.setUp()
        fake = try startedServer(Self.started)
        try await fake.control("reset")
        try await fake.control("configure", [
            "tenant": Self.tenant,
            "clients": [Self.clientID: ["tenants": [Self.tenant], "secret": clientSecret.value, "assertion": assertion.value]],
            "identity_header": identityHeader.value,
        ])
        directory = try makeTemporaryDirectory("azure")
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        super.tearDown()
    }

    /// A canary planted by this test, watched in every run.
    func canary(_ label: String) -> Canary {
        let canary = Canary(label)
        canaries.append(canary)
        return canary
    }

    /// The client secret credential against the stand-in's Entra ID.
    var clientSecretEnvironment: [String: String] {
        ["AZURE_TENANT_ID": Self.tenant, "AZURE_CLIENT_ID": Self.clientID, "AZURE_CLIENT_SECRET": clientSecret.value,
         "AZURE_AUTHORITY_HOST": fake.baseURL]
    }

    /// The store as a manifest declares it (at `m.yaml`), on the stand-in's vault unless `vaultURL` is given.
    func makeProvider(
        _ environment: [String: String], settings: [(String, String)] = [], vaultURL: String? = nil
    ) throws -> any SecretProvider {
        try AzureKeyVaultKind.make(providerDeclaration(
            [("type", AzureKeyVaultKind.typeName), ("vault-url", vaultURL ?? fake.baseURL)] + settings, name: "azure",
            path: "m.yaml", baseDirectory: directory, environment: environment))
    }

    /// Runs the executable in `directory` with the client secret credential (`secret` in place of the
    /// right one) through the shared `runTool`: no watched value, nor `secret`, may reach any place but
    /// the rendered outputs and the file `new-password`.
    @discardableResult
    func run(_ arguments: [String], secret: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        var environment = clientSecretEnvironment
        if let secret { environment["AZURE_CLIENT_SECRET"] = secret }
        return try runTool(
            arguments, in: directory, environment: environment, canaries: watched + (secret.map { [$0] } ?? []),
            valuesOnlyIn: [".build/inject-secrets/", "new-password"], file: file, line: line)
    }

    func read(_ path: String) -> String? {
        try? String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
    }
}
