import Foundation
import TestSupport
import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsAzure
@testable import InjectSecretsCore
@testable import InjectSecretsKit
@testable import InjectSecretsVault

/// The audit log records a failure's kind (`error`) and its outcome: the same event must read the same
/// whichever store answered it. Each store gets the event in its own wire form (the documents StatusTable cites)
/// on a scripted transport, and must give the kind the one rule gives.
final class FailureKindAcrossStoresTests: XCTestCase {
    enum Event: String, CaseIterable {
        case credentialRefused, notAllowed, missing, throttled, serverFailing, noAnswer

        var kind: ProviderFailure.Kind {
            switch self {
            case .credentialRefused: return .authentication
            case .notAllowed: return .accessDenied
            case .missing: return .notFound
            case .throttled: return .throttled
            case .serverFailing, .noAnswer: return .unreachable
            }
        }
    }

    static func answer(_ status: Int, _ body: String, _ headers: [String: String] = [:]) -> ScriptedTransport.Step {
        .respond(HTTPResponse(status: status, headers: headers, body: Data(body.utf8)))
    }

    /// Vault sends 403 `permission denied` for a bad token and a denial alike (§4); a 401 (from a
    /// fronting proxy or a future Vault) must still read as authentication, as it does everywhere.
    static func vault(_ event: Event) -> ScriptedTransport.Step {
        switch event {
        case .credentialRefused: return answer(401, #"{"errors":["missing client token"]}"#)
        case .notAllowed: return answer(403, #"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#)
        case .missing: return answer(404, #"{"errors":[]}"#)
        case .throttled: return answer(429, #"{"errors":["rate limit quota exceeded"]}"#, ["retry-after": "0"])
        case .serverFailing: return answer(500, #"{"errors":["internal error"]}"#)
        case .noAnswer: return .fail(.network, "connection refused")
        }
    }

    static func keyVault(_ event: Event) -> ScriptedTransport.Step {
        func error(_ code: String) -> String { #"{"error":{"code":"\#(code)","message":"AKV10000: no"}}"# }
        switch event {
        case .credentialRefused: return answer(401, error("Unauthorized"))
        case .notAllowed: return answer(403, error("Forbidden"))
        case .missing: return answer(404, error("SecretNotFound"))
        case .throttled: return answer(429, error("Throttled"), ["retry-after": "0"])
        case .serverFailing: return answer(500, error("InternalServerError"))
        case .noAnswer: return .fail(.network, "connection refused")
        }
    }

    /// AWS says most of these with 400 and a code (§2).
    static func aws(_ event: Event) -> ScriptedTransport.Step {
        func error(_ status: Int, _ code: String) -> ScriptedTransport.Step {
            answer(status, #"{"__type":"\#(code)","message":"no"}"#, ["x-amzn-errortype": code])
        }
        switch event {
        case .credentialRefused: return error(400, "UnrecognizedClientException")
        case .notAllowed: return error(400, "AccessDeniedException")
        case .missing: return error(400, "ResourceNotFoundException")
        case .throttled: return error(400, "ThrottlingException")
        case .serverFailing: return error(500, "InternalFailure")
        case .noAnswer: return .fail(.network, "connection refused")
        }
    }

    func fetchFailure(_ provider: any SecretProvider, _ reference: SecretReference) async throws -> ProviderFailure {
        try expectFailure(await provider.fetchOne(reference))
    }

    func testTheSameEventHasTheSameKindInEveryStore() async throws {
        let fast = RetryPolicy(maxAttempts: 2, baseDelay: 0.01, maxDelay: 0.05, timeLimit: 5)
        let awsHome = try makeTemporaryDirectory("kinds")
        defer { try? FileManager.default.removeItem(at: awsHome) }
        let awsEnvironment = [
            "AWS_ACCESS_KEY_ID": "AKIDKINDS", "AWS_SECRET_ACCESS_KEY": "kinds-secret", "AWS_MAX_ATTEMPTS": "2",
            "AWS_CONFIG_FILE": awsHome.appendingPathComponent("config").path,
            "AWS_SHARED_CREDENTIALS_FILE": awsHome.appendingPathComponent("credentials").path,
        ]
        let pinned = SecretReference(name: "db", id: "app/db", policy: .version("0123456789abcdef0123456789abcdef"))

        for event in Event.allCases {
            var kinds: [String: ProviderFailure.Kind] = [:]

            let vaultScript = ScriptedTransport([Self.vault(event)])
            let vault = VaultKind.makeVault(try VaultKind.settings(
                providerDeclaration("{type: vault, address: 'http://127.0.0.1:8200'}", environment: ["VAULT_TOKEN": "t"])),
                client: HTTPClient(transport: vaultScript, proxyEnvironment: [:]), retry: fast)
            kinds["vault"] = try await fetchFailure(vault, SecretReference(name: "db", id: "app/db", policy: .current)).kind

            let keyVaultScript = ScriptedTransport([Self.keyVault(event)])
            let keyVault = AzureKeyVaultProvider(
                name: "azure", vaultURL: URL(string: "https://kinds.vault.azure.net")!, apiVersion: "7.6", environment: [:],
                http: HTTPClient(transport: keyVaultScript, proxyEnvironment: [:]), retry: fast)
            kinds["azure-key-vault"] = try await fetchFailure(keyVault, SecretReference(name: "db", id: "app-db", policy: .current)).kind

            let secretsManager = try AWSSecretsManagerProvider(
                providerDeclaration("{type: aws-secrets-manager, region: us-east-1, endpoint: 'http://127.0.0.1:4566'}", environment: awsEnvironment),
                http: HTTPClient(transport: ScriptedTransport([Self.aws(event)]), proxyEnvironment: [:]))
            kinds["aws-secrets-manager"] = try await fetchFailure(secretsManager, pinned).kind

            let parameterStore = try AWSParameterStoreProvider(
                providerDeclaration("{type: aws-ssm, region: us-east-1, endpoint: 'http://127.0.0.1:4566'}", environment: awsEnvironment),
                http: HTTPClient(transport: ScriptedTransport([Self.aws(event)]), proxyEnvironment: [:]))
            kinds["aws-ssm"] = try await fetchFailure(
                parameterStore, SecretReference(name: "db", id: "/app/db", policy: .current)).kind

            for (store, kind) in kinds {
                XCTAssertEqual(kind, event.kind, "\(event) in \(store)")
            }
            let outcomes = Set(kinds.values.map { AuditRecord.outcome(of: ProviderFailure($0, "")) })
            XCTAssertEqual(outcomes.count, 1, "\(event): the audit log's outcome differs by store: \(kinds)")
            if event == .throttled || event == .serverFailing {
                XCTAssertEqual(vaultScript.sent.count, 2, "\(event) retried in Vault")
                XCTAssertEqual(keyVaultScript.sent.count, 2, "\(event) retried in Key Vault")
            }
        }
    }
}
