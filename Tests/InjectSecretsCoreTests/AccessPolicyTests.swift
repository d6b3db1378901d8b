import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsAzure
@testable import InjectSecretsCore
@testable import InjectSecretsKit
@testable import InjectSecretsVault
import TestSupport

/// Each store's policy builder against a lock with locators (and without), offline.
final class AccessPolicyTests: XCTestCase {
    func declaration(_ yaml: String, name: String = "p", environment: [String: String] = [:]) throws -> ProviderDeclaration {
        try providerDeclaration(yaml, name: name, baseDirectory: URL(fileURLWithPath: "/project"), environment: environment)
    }

    func secret(_ name: String, _ id: String, _ policy: VersionPolicy = .current, type: String, locator: String? = nil) -> PolicySecret {
        PolicySecret(
            name: name, id: id, policy: policy,
            locked: locator.map { LockFile.SecretEntry(provider: "p", type: type, id: id, policy: policy.description, version: "v", locator: $0) })
    }

    func statements(_ policy: AccessPolicy) -> [[String: Any]] {
        let data = Data(policy.document.serialized().utf8)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        XCTAssertEqual(object?["Version"] as? String, "2012-10-17")
        return object?["Statement"] as? [[String: Any]] ?? []
    }

    func strings(_ value: Any?) -> [String] {
        if let one = value as? String { return [one] }
        return value as? [String] ?? []
    }

    func actions(_ policy: AccessPolicy) -> Set<String> {
        Set(statements(policy).flatMap { strings($0["Action"]) })
    }

    func resources(_ policy: AccessPolicy, action: String) -> Set<String> {
        Set(statements(policy).filter { strings($0["Action"]).contains(action) }.flatMap { strings($0["Resource"]) })
    }

    let dbARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
    let stripeARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/stripe-x1y2z3"

    // MARK: Secrets Manager

    func testSecretsManagerRenderNamesExactlyTheLockedARNs() throws {
        let provider = try declaration("type: aws-secrets-manager\nregion: eu-west-1\n")
        let request = AccessPolicyRequest(
            declaration: provider,
            secrets: [secret("db", "prod/db", type: "aws-secrets-manager", locator: dbARN)], purpose: .render, function: "checkout")
        let policy = try AWSSecretsManagerStore.accessPolicy(request)
        XCTAssertFalse(policy.approximate)
        XCTAssertEqual(resources(policy, action: "secretsmanager:GetSecretValue"), [dbARN])
        XCTAssertEqual(resources(policy, action: "secretsmanager:DescribeSecret"), [dbARN])
        XCTAssertFalse(policy.document.serialized().contains(stripeARN))
        // Batching is used for current versions: its action takes only "*", and GetSecretValue still gates each secret.
        XCTAssertEqual(resources(policy, action: "secretsmanager:BatchGetSecretValue"), ["*"])
        let kms = try XCTUnwrap(statements(policy).first { strings($0["Action"]) == ["kms:Decrypt"] })
        let condition = try XCTUnwrap((kms["Condition"] as? [String: [String: Any]])?["StringEquals"])
        XCTAssertEqual(strings(condition["kms:ViaService"]), ["secretsmanager.eu-west-1.amazonaws.com"])
        XCTAssertEqual(strings(condition["kms:EncryptionContext:SecretARN"]), [dbARN])

        // A pinned secret is read with GetSecretValue only: no batch action.
        let pinned = try AWSSecretsManagerStore.accessPolicy(AccessPolicyRequest(
            declaration: provider, secrets: [secret("db", "prod/db", .version("v7"), type: "aws-secrets-manager", locator: dbARN)],
            purpose: .render, function: "checkout"))
        XCTAssertFalse(actions(pinned).contains("secretsmanager:BatchGetSecretValue"))
    }

    func testSecretsManagerDriftReadsNoValue() throws {
        let provider = try declaration("type: aws-secrets-manager\nregion: eu-west-1\n")
        let policy = try AWSSecretsManagerStore.accessPolicy(AccessPolicyRequest(
            declaration: provider,
            secrets: [secret("db", "prod/db", type: "aws-secrets-manager", locator: dbARN), secret("stripe", "prod/stripe", type: "aws-secrets-manager", locator: stripeARN)],
            purpose: .drift, function: nil))
        XCTAssertTrue(actions(policy).isDisjoint(with: SecretsManagerPolicy.valueActions), "\(actions(policy))")
        XCTAssertEqual(actions(policy), ["secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds", "secretsmanager:ListSecrets"])
        XCTAssertEqual(resources(policy, action: "secretsmanager:DescribeSecret"), [dbARN, stripeARN])
        XCTAssertEqual(resources(policy, action: "secretsmanager:ListSecrets"), ["*"])
    }

    func testSecretsManagerWithoutALockIsApproximateWithTheSuffixWildcard() throws {
        let provider = try declaration("type: aws-secrets-manager\nregion: us-east-1\n", environment: ["AWS_ACCOUNT_ID": "111122223333"])
        let policy = try AWSSecretsManagerStore.accessPolicy(AccessPolicyRequest(
            declaration: provider, secrets: [secret("db", "prod/db", type: "aws-secrets-manager")], purpose: .render, function: "f"))
        XCTAssertTrue(policy.approximate)
        XCTAssertEqual(resources(policy, action: "secretsmanager:GetSecretValue"), ["arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-??????"])
        XCTAssertTrue(policy.notes.contains { $0.contains("approximate") && $0.contains("-??????") }, "\(policy.notes)")
        let kms = try XCTUnwrap(statements(policy).first { strings($0["Action"]) == ["kms:Decrypt"] })
        XCTAssertNotNil((kms["Condition"] as? [String: Any])?["StringLike"], "a wildcard ARN needs StringLike")

        // No account: a wildcard, and the notes say what to set.
        let bare = try AWSSecretsManagerStore.accessPolicy(AccessPolicyRequest(
            declaration: try declaration("type: aws-secrets-manager\nregion: us-east-1\n"), secrets: [secret("db", "prod/db", type: "aws-secrets-manager")],
            purpose: .drift, function: nil))
        XCTAssertEqual(resources(bare, action: "secretsmanager:DescribeSecret"), ["arn:aws:secretsmanager:us-east-1:*:secret:prod/db-??????"])
        XCTAssertTrue(bare.notes.contains { $0.contains("AWS_ACCOUNT_ID") })
    }

    func testTheRegionComesFromTheProfileLikeTheProviderResolvesIt() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("config")
        try "[profile ci]\nregion = eu-central-1\n".write(to: config, atomically: true, encoding: .utf8)
        let provider = try declaration(
            "type: aws-secrets-manager\nprofile: ci\n",
            environment: ["AWS_CONFIG_FILE": config.path, "AWS_SHARED_CREDENTIALS_FILE": folder.appendingPathComponent("none").path, "AWS_ACCOUNT_ID": "123456789012"])
        let policy = try AWSSecretsManagerStore.accessPolicy(AccessPolicyRequest(
            declaration: provider, secrets: [secret("db", "prod/db", type: "aws-secrets-manager")], purpose: .drift, function: nil))
        XCTAssertEqual(resources(policy, action: "secretsmanager:DescribeSecret"), ["arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/db-??????"])
    }

    // MARK: SSM

    func testParameterStoreRenderAndDrift() throws {
        let provider = try declaration("type: aws-ssm\nregion: eu-west-1\n")
        let arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/password"
        let secrets = [secret("db", "/prod/db/password", type: "aws-ssm", locator: arn)]
        let render = try AWSParameterStore.accessPolicy(AccessPolicyRequest(declaration: provider, secrets: secrets, purpose: .render, function: "f"))
        XCTAssertEqual(actions(render), ["ssm:GetParameters", "kms:Decrypt"])
        XCTAssertEqual(resources(render, action: "ssm:GetParameters"), [arn])
        let kms = try XCTUnwrap(statements(render).first { strings($0["Action"]) == ["kms:Decrypt"] })
        let condition = try XCTUnwrap((kms["Condition"] as? [String: [String: Any]])?["StringEquals"])
        XCTAssertEqual(strings(condition["kms:ViaService"]), ["ssm.eu-west-1.amazonaws.com"])
        XCTAssertEqual(strings(condition["kms:EncryptionContext:PARAMETER_ARN"]), [arn])

        let drift = try AWSParameterStore.accessPolicy(AccessPolicyRequest(declaration: provider, secrets: secrets, purpose: .drift, function: nil))
        XCTAssertTrue(actions(drift).isDisjoint(with: ParameterStorePolicy.valueActions), "\(actions(drift))")
        XCTAssertEqual(resources(drift, action: "ssm:GetParameterHistory"), [arn])
        XCTAssertEqual(resources(drift, action: "ssm:DescribeParameters"), ["*"])
        XCTAssertTrue(drift.notes.contains { $0.contains("GetParameterHistory") && $0.contains("Value") }, "the history's values are admitted")

        // Without a lock entry the ARN is built from the name (leading slash dropped).
        let built = try AWSParameterStore.accessPolicy(AccessPolicyRequest(
            declaration: try declaration("type: aws-ssm\nregion: eu-west-1\n", environment: ["AWS_ACCOUNT_ID": "123456789012"]),
            secrets: [secret("db", "/prod/db/password", type: "aws-ssm")], purpose: .render, function: "f"))
        XCTAssertEqual(resources(built, action: "ssm:GetParameters"), [arn])
        XCTAssertFalse(built.approximate)
    }

    // MARK: Vault

    func testVaultPolicyReadsExactlyTheDataPathsAndDriftOnlyMetadata() throws {
        let provider = try declaration("type: vault\naddress: http://127.0.0.1:8200\nmount: kv/\n")
        let secrets = [secret("stripe", "payments/stripe", type: "vault"), secret("db", "/prod//db", type: "vault")]
        let render = try VaultKind.accessPolicy(AccessPolicyRequest(declaration: provider, secrets: secrets, purpose: .render, function: "checkout"))
        let hcl = try XCTUnwrap(render.document.string)
        XCTAssertTrue(hcl.contains("path \"kv/data/payments/stripe\" {\n  capabilities = [\"read\"]\n}"), hcl)
        XCTAssertTrue(hcl.contains("path \"kv/data/prod/db\""), hcl)
        XCTAssertFalse(hcl.contains("metadata"), hcl)
        XCTAssertFalse(hcl.contains("*"), hcl)
        let drift = try VaultKind.accessPolicy(AccessPolicyRequest(declaration: provider, secrets: secrets, purpose: .drift, function: nil))
        let driftHCL = try XCTUnwrap(drift.document.string)
        XCTAssertTrue(driftHCL.contains("path \"kv/metadata/payments/stripe\""), driftHCL)
        XCTAssertFalse(driftHCL.contains("/data/"), driftHCL)

        XCTAssertThrowsError(try VaultKind.accessPolicy(AccessPolicyRequest(
            declaration: provider, secrets: [secret("all", "payments/*", type: "vault")], purpose: .render, function: "f"))) { error in
            XCTAssertTrue("\(error)".contains("cannot be written as one exact Vault policy path"), "\(error)")
        }
    }

    // MARK: Azure

    func testAzureRoleAssignmentsPerSecret() throws {
        let provider = try declaration("type: azure-key-vault\nvault-url: https://shop-prod.vault.azure.net\n")
        let secrets = [secret("db", "db-password", type: "azure-key-vault")]
        let render = try AzureKeyVaultKind.accessPolicy(AccessPolicyRequest(declaration: provider, secrets: secrets, purpose: .render, function: "f"))
        let assignment = try XCTUnwrap(render.document.array?.first?.object)
        XCTAssertEqual(assignment["role"]?.string, "Key Vault Secrets User")
        XCTAssertEqual(assignment["scope"]?.string, "{vault resource id}/secrets/db-password")
        XCTAssertEqual(assignment["roleDefinitionId"]?.string, "/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6")
        XCTAssertTrue(render.text.contains("az keyvault show --name shop-prod"), render.text)
        let drift = try AzureKeyVaultKind.accessPolicy(AccessPolicyRequest(declaration: provider, secrets: secrets, purpose: .drift, function: nil))
        XCTAssertEqual(drift.document.array?.first?.object?["role"]?.string, "Key Vault Reader")
    }
}
