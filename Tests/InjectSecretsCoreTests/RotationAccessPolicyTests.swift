import Foundation
import InjectSecretsAWS
@testable import InjectSecretsCore
import InjectSecretsDeploy
import TestSupport
import XCTest

/// `policy` for the rotation paths: what `rotate --due` needs on Secrets Manager, and what
/// `drift --deployed --verify` adds to the Lambda access; the drift policy stays metadata only.
final class RotationAccessPolicyTests: XCTestCase {
    func testRotateDueAndVerifyAccess() throws {
        let directory = try makeTemporaryDirectory("rotation-access")
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  aws: { type: aws-secrets-manager, region: eu-west-1 }
                  local: { type: file, path: store.yaml }
                defaults:
                  rotation: { every: 30d }
                secrets:
                  db: { provider: aws, id: prod/db }
                  token: { provider: aws, id: prod/token, rotation: { generate: { length: 40 } } }
                  plain: { provider: aws, id: prod/plain, rotation: none }
                  pem: { provider: local, id: tls/key }
                functions:
                  checkout:
                    env: { DB: "${secrets.db}", TOKEN: "${secrets.token}", PLAIN: "${secrets.plain}", PEM: "${secrets.pem}" }
                    lambda: { name: checkout, region: eu-west-1 }
                """,
            "store.yaml": "",
        ], in: directory)
        let options = RunOptions(
            manifestURL: directory.appendingPathComponent("inject-secrets.yaml"), displayPath: "inject-secrets.yaml",
            processEnvironment: ["AWS_ACCOUNT_ID": "123456789012"])
        let report = try InjectSecrets(registry: ProviderRegistry(kinds: [FileStore.self, AWSSecretsManagerStore.self]))
            .policyWithDeployment(options)

        XCTAssertEqual(report.rotateDue.map(\.provider), ["aws"], "the file store's rotation is its write access")
        let rotate = report.rotateDue[0].policy.text
        XCTAssertTrue(rotate.contains("\"Sid\": \"RotateDueSecretsInTheStore\""), rotate)
        XCTAssertTrue(rotate.contains("secretsmanager:RotateSecret"), rotate)
        XCTAssertTrue(rotate.contains("secret:prod/db-??????"), rotate)
        XCTAssertTrue(rotate.contains("\"Sid\": \"RotateDueSecretsWithTheGenerator\""), rotate)
        XCTAssertTrue(rotate.contains("secretsmanager:PutSecretValue"), rotate)
        XCTAssertFalse(rotate.contains("prod/plain"), "rotation: none needs nothing: \(rotate)")
        let statements = try XCTUnwrap(report.rotateDue[0].policy.document.object?["Statement"]?.array)
        let store = statements.first { $0.object?["Sid"] == .string("RotateDueSecretsInTheStore") }
        XCTAssertEqual(store?.object?["Resource"], .string("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-??????"), "one secret: a single resource")

        let verify = try XCTUnwrap(report.deployedVerify).text
        XCTAssertTrue(verify.contains("lambda:GetFunctionConfiguration") && verify.contains("function:checkout"), verify)
        XCTAssertFalse(try XCTUnwrap(report.deployedDrift).text.contains("GetFunctionConfiguration"), "tag-only stays tag-only")
        let drift = report.drift.first { $0.provider == "aws" }!.policy.text
        XCTAssertFalse(drift.contains("RotateSecret") || drift.contains("GetSecretValue"), drift)
        let json = report.json().serialized()
        XCTAssertTrue(json.contains("\"rotateDue\"") && json.contains("\"deployedVerify\""), json)
    }
}
