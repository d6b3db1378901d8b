import Foundation
import XCTest
@testable import InjectSecretsAWS
import TestSupport

/// `policy` and `--audit-log` through the built executable against moto: the IAM documents name exactly
/// each function's ARNs from the lock, the drift documents hold no value-reading action, and a denial is
/// audited. (moto checks IAM actions but authorizes every Secrets Manager and SSM call against the
/// resource "*", so it cannot prove resource-level grants; the documents' ARNs are checked instead.)
final class AWSPolicyEndToEndTests: MotoTestCase {
    func canary(_ label: String) -> String {
        let canary = Canary(label)
        canaries.append(canary)
        return canary.value
    }

    /// Runs the executable with only `identity`'s AWS variables; no canary and no credential may leak.
    @discardableResult
    func runTool(_ arguments: [String], identity: TestIdentity?, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try TestSupport.runTool(
            arguments, in: directory, environment: identity?.environment(region: nil) ?? [:], canaries: watched,
            valuesOnlyIn: [".build/inject-secrets/"], file: file, line: line)
    }

    func statements(_ document: Any?) -> [[String: Any]] {
        ((document as? [String: Any])?["Statement"] as? [[String: Any]]) ?? []
    }

    func strings(_ value: Any?) -> [String] {
        if let one = value as? String { return [one] }
        return value as? [String] ?? []
    }

    func resources(_ document: Any?, _ action: String) -> Set<String> {
        Set(statements(document).filter { strings($0["Action"]).contains(action) }.flatMap { strings($0["Resource"]) })
    }

    func actions(_ document: Any?) -> Set<String> {
        Set(statements(document).flatMap { strings($0["Action"]) })
    }

    func testIAMDocumentsNameExactlyEachFunctionsARNsAndDriftReadsNoValue() async throws {
        let db = try await moto.seed("secretsmanager", "CreateSecret", [
            "Name": .string("policy-\(run)/db"), "SecretString": .string(#"{"password":"\#(canary("db"))"}"#),
        ])
        let mail = try await moto.seed("secretsmanager", "CreateSecret", [
            "Name": .string("policy-\(run)/mail"), "SecretString": .string(canary("mail")),
        ])
        try await moto.seed("ssm", "PutParameter", [
            "Name": .string("/policy-\(run)/token"), "Value": .string(canary("token")), "Type": "SecureString",
        ])
        let dbARN = try XCTUnwrap(db["ARN"]?.string), mailARN = try XCTUnwrap(mail["ARN"]?.string)
        try writeFiles(["inject-secrets.yaml": awsManifest(endpoint: moto.proxy.baseURL, secrets: """
              db: { provider: aws, id: policy-\(run)/db }
              mail: { provider: aws, id: policy-\(run)/mail }
              token: { provider: ssm, id: /policy-\(run)/token }
            """, functions: """
              checkout:
                env: { DB_PASSWORD: "${secrets.db.password}", API_TOKEN: "${secrets.token}" }
              mailer:
                env: { MAIL: "${secrets.mail}" }
            """)], in: directory)

        // Before any render the ARNs' suffixes are unknown: approximate, and said so.
        let before = try runTool(["policy", "--format", "json"], identity: nil)
        XCTAssertEqual(before.status, 0, before.stderr)
        let approximate = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(approximate["approximate"] as? Bool, true)
        let guessed = ((approximate["functions"] as? [String: [String: Any]])?["checkout"])?["aws"]
        XCTAssertEqual(resources(guessed, "secretsmanager:GetSecretValue"), ["arn:aws:secretsmanager:us-east-1:*:secret:policy-\(run)/db-??????"])

        // Render once (and audit it), then the documents name the lock's exact ARNs.
        let render = try runTool(["render", "--audit-log", "audit.jsonl"], identity: moto.identities.session)
        XCTAssertEqual(render.status, 0, render.stderr)
        let lock = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("inject-secrets.lock"))) as? [String: Any])
        let locked = try XCTUnwrap(lock["secrets"] as? [String: [String: String]])
        XCTAssertEqual(locked["db"]?["locator"], dbARN)
        let tokenARN = try XCTUnwrap(locked["token"]?["locator"])
        XCTAssertTrue(tokenARN.hasPrefix("arn:aws:ssm:us-east-1:"), tokenARN)

        let result = try runTool(["policy", "--format", "json"], identity: nil)
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(document["approximate"] as? Bool, false, result.stdout)
        let functions = try XCTUnwrap(document["functions"] as? [String: [String: Any]])
        let checkout = functions["checkout"]?["aws"], mailer = functions["mailer"]?["aws"]
        XCTAssertEqual(resources(checkout, "secretsmanager:GetSecretValue"), [dbARN])
        XCTAssertEqual(resources(checkout, "secretsmanager:DescribeSecret"), [dbARN])
        XCTAssertEqual(resources(mailer, "secretsmanager:GetSecretValue"), [mailARN])
        XCTAssertFalse(result.stdout.contains(mailARN) && String(describing: checkout).contains(mailARN))
        XCTAssertEqual(resources(functions["checkout"]?["ssm"], "ssm:GetParameters"), [tokenARN])
        XCTAssertNil(functions["mailer"]?["ssm"], "mailer reads nothing from SSM")

        let drift = try XCTUnwrap(document["drift"] as? [String: Any])
        XCTAssertTrue(actions(drift["aws"]).isDisjoint(with: SecretsManagerPolicy.valueActions), "\(actions(drift["aws"]))")
        XCTAssertEqual(resources(drift["aws"], "secretsmanager:DescribeSecret"), [dbARN, mailARN])
        XCTAssertTrue(actions(drift["ssm"]).isDisjoint(with: ParameterStorePolicy.valueActions), "\(actions(drift["ssm"]))")

        // The audit log has the reads with their ARNs; the metadata-only identity's render is denied
        // and audited too; its drift is allowed and audited.
        let denied = try runTool(["render", "--audit-log", "audit.jsonl"], identity: moto.identities.metadata)
        XCTAssertEqual(denied.status, 3, denied.stderr)
        XCTAssertEqual(try runTool(["drift", "--audit-log", "audit.jsonl"], identity: moto.identities.metadata).status, 0)
        let records = try String(contentsOf: directory.appendingPathComponent("audit.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let reads = records.filter { $0["operation"] as? String == "render" && $0["outcome"] as? String == "ok" }
        XCTAssertEqual(Set(reads.compactMap { $0["locator"] as? String }), [dbARN, mailARN, tokenARN])
        let denials = records.filter { $0["outcome"] as? String == "denied" }
        XCTAssertEqual(Set(denials.compactMap { $0["secret"] as? String }), ["db", "mail", "token"])
        XCTAssertTrue(denials.allSatisfy { $0["error"] as? String == "access denied" }, "\(denials)")
        XCTAssertEqual(records.filter { $0["operation"] as? String == "drift" }.count, 3)
        let mode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("audit.jsonl").path)[.posixPermissions] as? NSNumber
        XCTAssertEqual(mode?.intValue, 0o600)
    }
}
