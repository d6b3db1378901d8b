import Foundation
import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsCore
@testable import InjectSecretsKit
import InjectSecretsRuntime
import TestSupport

/// The AWS store kinds write `${ref.*}` lines through `RuntimeReference` itself, so what render writes
/// is what the runtime parses, for every selector and awkward keys; an answer that makes no valid
/// reference is the store's failure, not a line the function cannot read.
final class RuntimeReferenceLineTests: XCTestCase {
    func testEveryLineTheKindsWriteParsesBackToTheSameParts() throws {
        let smARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
        let ssmARN = "arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/app/token"
        let version = "a1b2c3d4-5678-90ab-cdef-111122223333"
        for key in [nil, "password", "a b", "100%", "ключ", "x=y", "tab\there"] as [String?] {
            let line = try AWSSecretsManagerStore.runtimeReference(.init(field: key, follows: false, policy: .current), version: version, locator: smARN)
            XCTAssertEqual(try RuntimeReference(parsing: line), try RuntimeReference(store: .secretsManager, arn: smARN, selector: .version(version), key: key))
            XCTAssertEqual(try RuntimeReference(parsing: line).description, line, "one spelling")
            let ssm = try AWSParameterStore.runtimeReference(.init(field: key, follows: false, policy: .current), version: "12", locator: ssmARN)
            XCTAssertEqual(try RuntimeReference(parsing: ssm), try RuntimeReference(store: .ssm, arn: ssmARN, selector: .version("12"), key: key))
        }
        for (locator, version) in [(smARN, "short"), ("arn:aws:secretsmanager:us-east-1:1:secret:x", version), ("prod/db", version)] {
            XCTAssertThrowsError(try AWSSecretsManagerStore.runtimeReference(.init(field: nil, follows: false, policy: .current), version: version, locator: locator)) { error in
                XCTAssertEqual((error as? ProviderFailure)?.kind, .invalidResponse, "\(error)")
            }
        }
    }

    func testTheStoreKindsWriteTheSelectorThePolicyAsksFor() throws {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
        let version = "a1b2c3d4-5678-90ab-cdef-111122223333"
        func sm(_ follows: Bool, _ policy: VersionPolicy) throws -> RuntimeReference.Selector {
            try RuntimeReference(parsing: AWSSecretsManagerStore.runtimeReference(
                .init(field: nil, follows: follows, policy: policy), version: version, locator: arn)).selector
        }
        XCTAssertEqual(try sm(false, .current), .version(version))
        XCTAssertEqual(try sm(true, .current), .stage("AWSCURRENT"))
        XCTAssertEqual(try sm(true, .stage("AWSPREVIOUS")), .stage("AWSPREVIOUS"))
        XCTAssertFalse(AWSSecretsManagerStore.runtimeReferenceProblems(.init(field: nil, follows: true, policy: .version(version))).isEmpty)
        let ssm = try RuntimeReference(parsing: AWSParameterStore.runtimeReference(
            .init(field: "k", follows: true, policy: .current), version: "3",
            locator: "arn:aws:ssm:us-east-1:123456789012:parameter/app/token"))
        XCTAssertEqual(ssm.selector, .current)
        XCTAssertEqual(ssm.key, "k")
        XCTAssertThrowsError(try AWSParameterStore.runtimeReference(.init(field: nil, follows: false, policy: .current), version: "3", locator: nil))
    }
}

/// `${ref.*}` end to end on moto (IAM enforced): render writes references that the runtime resolves
/// through the extension's stand-in, reads no value doing so (the metadata-only identity renders them,
/// and the proxy counts no value-reading call), locks their versions, and drift, --locked and policy
/// treat them as they treat values.
extension AWSPolicyEndToEndTests {
    func testReferencesRenderFromMetadataOnlyAndResolveAtRunTimeToTheLockedVersion() async throws {
        let password = canary("ref-password")
        let db = try await moto.seed("secretsmanager", "CreateSecret", [
            "Name": .string("ref-\(run)/db"), "SecretString": .string(#"{"password":"\#(password)"}"#),
        ])
        let token = canary("ref-token")
        try await moto.seed("ssm", "PutParameter", ["Name": .string("/ref-\(run)/token"), "Value": .string(token), "Type": "SecureString"])
        let dbARN = try XCTUnwrap(db["ARN"]?.string), firstVersion = try XCTUnwrap(db["VersionId"]?.string)
        try writeFiles(["inject-secrets.yaml": awsManifest(endpoint: moto.proxy.baseURL, secrets: """
              db: { provider: aws, id: ref-\(run)/db }
              token: { provider: ssm, id: /ref-\(run)/token }
            """, functions: """
              checkout:
                env:
                  DB_PASSWORD: ${ref.db.password}
                  DB_FOLLOWING: ${ref.db.password:current}
                  API_TOKEN: ${ref.token}
                  STAGE: prod
                outputs: [{ format: json, path: out/checkout.json }]
            """)], in: directory)
        func rendered() throws -> [String: String] {
            let data = try Data(contentsOf: directory.appendingPathComponent("out/checkout.json"))
            return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: String])
        }

        // The metadata-only identity may not read a value: it renders references all the same.
        try moto.resetProxy()
        let render = try runTool(["render"], identity: moto.identities.metadata)
        XCTAssertEqual(render.status, 0, render.stderr)
        let calls = try moto.received()
        for valueCall in ["secretsmanager.GetSecretValue", "secretsmanager.BatchGetSecretValue", "AmazonSSM.GetParameters", "AmazonSSM.GetParameter"] {
            XCTAssertNil(calls[valueCall], "render made a value-reading call: \(calls)")
        }
        XCTAssertEqual(try moto.decrypting(), [:], "no call asked for decryption")
        XCTAssertFalse(calls.isEmpty)

        var environment = try rendered()
        let pinned = try RuntimeReference(parsing: try XCTUnwrap(environment["DB_PASSWORD"]))
        XCTAssertEqual(pinned, try RuntimeReference(store: .secretsManager, arn: dbARN, selector: .version(firstVersion), key: "password"))
        XCTAssertEqual(try RuntimeReference(parsing: try XCTUnwrap(environment["DB_FOLLOWING"])).selector, .stage("AWSCURRENT"))
        let tokenReference = try RuntimeReference(parsing: try XCTUnwrap(environment["API_TOKEN"]))
        XCTAssertEqual(tokenReference.store, .ssm)
        XCTAssertEqual(tokenReference.selector, .version("1"))
        let parameter = try await moto.seed("ssm", "GetParameters", ["Names": .array([.string("/ref-\(run)/token")])])
        XCTAssertEqual(tokenReference.arn, parameter["Parameters"]?.array?.first?["ARN"]?.string, "the ARN the store gives the parameter")
        XCTAssertEqual(environment["STAGE"], "prod")

        let lock = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("inject-secrets.lock"))) as? [String: Any])
        let locked = try XCTUnwrap(lock["secrets"] as? [String: [String: String]])
        XCTAssertEqual(locked["db"]?["version"], firstVersion)
        XCTAssertEqual(locked["db"]?["locator"], dbARN)
        XCTAssertEqual(locked["token"]?["locator"], tokenReference.arn)

        // What the function reads at run time through the extension: the values, by these references.
        let standIn = try SecretsExtensionStandIn(moto: moto, identity: moto.identities.session)
        defer { standIn.stop() }
        let runtime = SecretsRuntime(environment: standIn.functionEnvironment(environment))
        let readPassword = try await runtime.value(forVariable: "DB_PASSWORD")
        let readToken = try await runtime.value(forVariable: "API_TOKEN")
        XCTAssertTrue(readPassword == password && readToken == token, "the references resolve to the seeded values (not shown: canaries)")

        // Rotation: the pinned reference is old, so checkout is stale; --locked keeps it; render moves it.
        let rotated = try await moto.seed("secretsmanager", "PutSecretValue", [
            "SecretId": .string(dbARN), "SecretString": .string(#"{"password":"\#(canary("ref-password-2"))"}"#),
            "ClientRequestToken": .string(UUID().uuidString),
        ])
        let secondVersion = try XCTUnwrap(rotated["VersionId"]?.string)
        let drift = try runTool(["drift", "--format", "json"], identity: moto.identities.metadata)
        XCTAssertEqual(drift.status, 1, drift.stdout + drift.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(drift.stdout.utf8)) as? [String: Any])
        let entries = report["drift"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.compactMap { $0["kind"] as? String }, ["rotated"], drift.stdout)
        XCTAssertEqual(entries.first?["secret"] as? String, "db")
        XCTAssertEqual(entries.first?["functions"] as? [String], ["checkout"])

        XCTAssertEqual(try runTool(["render", "--locked"], identity: moto.identities.metadata).status, 0)
        XCTAssertEqual(try RuntimeReference(parsing: try rendered()["DB_PASSWORD"]!).selector, .version(firstVersion))
        try moto.resetProxy()
        XCTAssertEqual(try runTool(["render"], identity: moto.identities.metadata).status, 0)
        XCTAssertNil(try moto.received()["secretsmanager.GetSecretValue"])
        environment = try rendered()
        XCTAssertEqual(try RuntimeReference(parsing: environment["DB_PASSWORD"]!).selector, .version(secondVersion))
        XCTAssertEqual(try runTool(["drift"], identity: moto.identities.metadata).status, 0)

        // policy: the render role gets metadata only; the function's own role reads exactly these.
        let policy = try runTool(["policy", "--format", "json"], identity: nil)
        XCTAssertEqual(policy.status, 0, policy.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(policy.stdout.utf8)) as? [String: Any])
        let renderRole = try XCTUnwrap((document["functions"] as? [String: [String: Any]])?["checkout"])
        XCTAssertTrue(actions(renderRole["aws"]).isDisjoint(with: SecretsManagerPolicy.valueActions), "\(actions(renderRole["aws"]))")
        XCTAssertEqual(resources(renderRole["aws"], "secretsmanager:DescribeSecret"), [dbARN])
        XCTAssertTrue(actions(renderRole["ssm"]).isDisjoint(with: ParameterStorePolicy.valueActions), "\(actions(renderRole["ssm"]))")
        let runtimeRole = try XCTUnwrap((document["runtime"] as? [String: [String: Any]])?["checkout"])
        XCTAssertEqual(resources(runtimeRole["aws"], "secretsmanager:GetSecretValue"), [dbARN])
        XCTAssertEqual(actions(runtimeRole["aws"]), ["secretsmanager:GetSecretValue", "kms:Decrypt"])
        let decrypt = statements(runtimeRole["aws"]).first { strings($0["Action"]).contains("kms:Decrypt") }
        let condition = (decrypt?["Condition"] as? [String: [String: Any]])?["StringEquals"]
        XCTAssertEqual(strings(condition?["kms:EncryptionContext:SecretARN"]), [dbARN])
        XCTAssertEqual(resources(runtimeRole["ssm"], "ssm:GetParameter"), [tokenReference.arn])
        XCTAssertEqual(actions(runtimeRole["ssm"]), ["ssm:GetParameter", "kms:Decrypt"])
        XCTAssertEqual(canaries.flatMap { $0.leaks(in: ["stand-in log": standIn.log]) }, [])
    }
}
