import Foundation
import InjectSecretsRuntime
import TestSupport
import XCTest

/// InjectSecretsRuntime against a stand-in of the AWS Parameters and Secrets Lambda Extension that reads
/// from moto (IAM enforced): what a Swift Lambda sees at run time for the references `render` writes.
final class RuntimeExtensionTests: MotoTestCase {
    nonisolated(unsafe) static var granted: SecretsExtensionStandIn?
    /// Reads as the metadata-only user: no secretsmanager:GetSecretValue, no ssm:GetParameter.
    nonisolated(unsafe) static var denied: SecretsExtensionStandIn?

    override class func setUp() {
        super.setUp()
        guard case .success(let fixture) = started else { return }
        do {
            granted = try SecretsExtensionStandIn(moto: fixture, identity: fixture.identities.session)
            denied = try SecretsExtensionStandIn(moto: fixture, identity: fixture.identities.metadata)
        } catch {
            fixture.stop()
            started = .failure(TestSupportError("extension stand-in failed: \(error)"))
        }
    }

    override class func tearDown() {
        granted?.stop()
        denied?.stop()
        granted = nil
        denied = nil
        super.tearDown()
    }

    var standIn: SecretsExtensionStandIn { Self.granted! }

    /// A secret with two versions, the second current. Returns its ARN and both version ids.
    func seedRotatedSecret(_ first: String, _ second: String) async throws -> (arn: String, old: String, new: String) {
        let created = try await moto.seed("secretsmanager", "CreateSecret", ["Name": .string("rt/\(run)/db"), "SecretString": .string(first)])
        let rotated = try await moto.seed("secretsmanager", "PutSecretValue", [
            "SecretId": created["ARN"]!, "SecretString": .string(second), "ClientRequestToken": .string(UUID().uuidString),
        ])
        return (created["ARN"]!.string!, created["VersionId"]!.string!, rotated["VersionId"]!.string!)
    }

    func runtime(_ variables: [String: String], ttl: TimeInterval = 300, clock: ManualClock = ManualClock()) -> SecretsRuntime {
        SecretsRuntime(
            configuration: .init(ttl: ttl), environment: standIn.functionEnvironment(variables), now: { clock.now })
    }

    func testPinnedVersionIsReadOnceAndKeptAcrossRotation() async throws {
        let old = Canary("old"), new = Canary("new")
        let secret = try await seedRotatedSecret(old.value, new.value)
        try await standIn.reset()
        let reference = try RuntimeReference(store: .secretsManager, arn: secret.arn, selector: .version(secret.old))
        let runtime = runtime(["DB_PASSWORD": reference.description])

        let first = try await runtime.value(forVariable: "DB_PASSWORD")
        XCTAssertTrue(first == old.value, "the pinned version, not the current one")
        let second = try await runtime.value(forVariable: "DB_PASSWORD")
        XCTAssertTrue(second == old.value, "the value differs (not shown: it is a canary)")
        let count = try await standIn.requests()
        XCTAssertEqual(count, 1, "a pinned version is fetched once per process")
        XCTAssertEqual(old.leaks(in: ["stand-in log": standIn.log]), [])
        XCTAssertEqual(new.leaks(in: ["stand-in log": standIn.log]), [])
    }

    func testStageReferenceFollowsRotationAfterTheTTL() async throws {
        let old = Canary("old"), new = Canary("new"), newest = Canary("newest")
        let secret = try await seedRotatedSecret(old.value, new.value)
        try await standIn.reset()
        let reference = try RuntimeReference(store: .secretsManager, arn: secret.arn, selector: .stage("AWSCURRENT"))
        let clock = ManualClock()
        let runtime = runtime(["DB_PASSWORD": reference.description], ttl: 60, clock: clock)

        let current = try await runtime.value(forVariable: "DB_PASSWORD")
        XCTAssertTrue(current == new.value, "the value differs (not shown: it is a canary)")
        _ = try await moto.seed("secretsmanager", "PutSecretValue", [
            "SecretId": .string(secret.arn), "SecretString": .string(newest.value), "ClientRequestToken": .string(UUID().uuidString),
        ])
        clock.advance(59)
        let cached = try await runtime.value(forVariable: "DB_PASSWORD")
        XCTAssertTrue(cached == new.value, "within the TTL the cached value serves")
        var count = try await standIn.requests()
        XCTAssertEqual(count, 1)
        clock.advance(2)
        let refreshed = try await runtime.value(forVariable: "DB_PASSWORD")
        XCTAssertTrue(refreshed == newest.value, "after the TTL the rotation reaches the function without a redeploy")
        count = try await standIn.requests()
        XCTAssertEqual(count, 2)
        XCTAssertEqual(Set([old, new, newest].flatMap { $0.leaks(in: ["stand-in log": standIn.log]) }), [])
    }

    func testJSONKeyAndPlainValueFromOneCodePath() async throws {
        let password = Canary("password")
        let created = try await moto.seed("secretsmanager", "CreateSecret", [
            "Name": .string("rt/\(run)/json"),
            "SecretString": .string(#"{"username": "app", "password": "\#(password.value)", "port": 5432}"#),
        ])
        let arn = created["ARN"]!.string!, version = created["VersionId"]!.string!
        func line(_ key: String) throws -> String {
            try RuntimeReference(store: .secretsManager, arn: arn, selector: .version(version), key: key).description
        }
        try await standIn.reset()
        let runtime = runtime([
            "DB_PASSWORD": try line("password"), "DB_PORT": try line("port"), "DB_USER": try line("username"),
            "DB_HOST": "db.internal", "DB_MISSING": try line("pass word"),
        ])
        let fetchedPassword = try await runtime.value(forVariable: "DB_PASSWORD")
        XCTAssertTrue(fetchedPassword == password.value, "the value differs (not shown: it is a canary)")
        let port = try await runtime.value(forVariable: "DB_PORT")
        XCTAssertEqual(port, "5432")
        let user = try await runtime.value(forVariable: "DB_USER")
        XCTAssertEqual(user, "app")
        let host = try await runtime.value(forVariable: "DB_HOST")
        XCTAssertEqual(host, "db.internal", "a plain value is returned as it is")
        do {
            _ = try await runtime.value(forVariable: "DB_MISSING")
            XCTFail("a missing key must fail")
        } catch let error as SecretsRuntimeError {
            XCTAssertEqual(error, .noSuchKey(arn: arn, key: "pass word"))
            XCTAssertEqual(password.leaks(in: ["error": String(reflecting: error) + error.description]), [])
        }
        let count = try await standIn.requests()
        XCTAssertEqual(count, 1, "fields of one version share one fetch; a plain value needs none")
        XCTAssertEqual(password.leaks(in: ["stand-in log": standIn.log]), [])
    }

    func testParameterWithVersionAndCurrent() async throws {
        let first = Canary("ssm-1"), second = Canary("ssm-2")
        let name = "/rt/\(run)/token"
        _ = try await moto.seed("ssm", "PutParameter", ["Name": .string(name), "Value": .string(first.value), "Type": "SecureString"])
        _ = try await moto.seed("ssm", "PutParameter", [
            "Name": .string(name), "Value": .string(second.value), "Type": "SecureString", "Overwrite": true,
        ])
        let arn = "arn:aws:ssm:us-east-1:123456789012:parameter\(name)"
        let runtime = runtime([
            "TOKEN_V1": try RuntimeReference(store: .ssm, arn: arn, selector: .version("1")).description,
            "TOKEN": try RuntimeReference(store: .ssm, arn: arn, selector: .current).description,
            "TOKEN_V9": try RuntimeReference(store: .ssm, arn: arn, selector: .version("9")).description,
        ])
        let pinned = try await runtime.value(forVariable: "TOKEN_V1")
        XCTAssertTrue(pinned == first.value, "the value differs (not shown: it is a canary)")
        let current = try await runtime.value(forVariable: "TOKEN")
        XCTAssertTrue(current == second.value, "the value differs (not shown: it is a canary)")
        do {
            _ = try await runtime.value(forVariable: "TOKEN_V9")
            XCTFail("a missing version must fail")
        } catch let error as SecretsRuntimeError {
            XCTAssertEqual(error, .versionNotFound(arn: arn, version: "9"))
        }
        XCTAssertEqual(first.leaks(in: ["stand-in log": standIn.log]) + second.leaks(in: ["stand-in log": standIn.log]), [])
    }

    func testMissingVersionDeniedAccessAndWrongTokenSayWhatToFix() async throws {
        let canary = Canary("denied")
        let secret = try await seedRotatedSecret(canary.value, canary.value + "-2")
        let name = "/rt/\(run)/denied"
        _ = try await moto.seed("ssm", "PutParameter", ["Name": .string(name), "Value": .string(canary.value), "Type": "String"])
        let parameterARN = "arn:aws:ssm:us-east-1:123456789012:parameter\(name)"
        let gone = UUID().uuidString.lowercased()
        let pinned = try RuntimeReference(store: .secretsManager, arn: secret.arn, selector: .version(secret.old)).description
        let parameter = try RuntimeReference(store: .ssm, arn: parameterARN, selector: .version("1")).description

        let missing = runtime([
            "DB": try RuntimeReference(store: .secretsManager, arn: secret.arn, selector: .version(gone)).description,
        ])
        let denied = Self.denied!
        let forbidden = SecretsRuntime(environment: denied.functionEnvironment(["DB": pinned, "TOKEN": parameter]))
        var wrongToken = standIn.functionEnvironment(["DB": pinned])
        wrongToken["AWS_SESSION_TOKEN"] = "not-the-session"
        let cases: [(SecretsRuntime, String, SecretsRuntimeError)] = [
            (missing, "DB", .versionNotFound(arn: secret.arn, version: gone)),
            (forbidden, "DB", .accessDenied(action: "secretsmanager:GetSecretValue", arn: secret.arn)),
            (forbidden, "TOKEN", .accessDenied(action: "ssm:GetParameter", arn: parameterARN)),
            (SecretsRuntime(environment: wrongToken), "DB", .tokenRefused(status: 401)),
        ]
        for (runtime, variable, expected) in cases {
            do {
                _ = try await runtime.value(forVariable: variable)
                XCTFail("\(expected): no error")
            } catch let error as SecretsRuntimeError {
                XCTAssertEqual(error, expected)
                XCTAssertEqual(canary.leaks(in: ["error": error.description + String(reflecting: error)]), [])
            }
        }
        XCTAssertTrue(
            SecretsRuntimeError.accessDenied(action: "secretsmanager:GetSecretValue", arn: secret.arn).description
                .contains("needs secretsmanager:GetSecretValue on \(secret.arn)"))
        XCTAssertEqual(canary.leaks(in: ["granted log": standIn.log, "denied log": denied.log]), [])
    }

    func testOversizedAnswerIsRefused() async throws {
        let big = String(repeating: "x", count: 65_000)
        let created = try await moto.seed("secretsmanager", "CreateSecret", ["Name": .string("rt/\(run)/big"), "SecretString": .string(big)])
        let reference = try RuntimeReference(
            store: .secretsManager, arn: created["ARN"]!.string!, selector: .version(created["VersionId"]!.string!))
        let small = SecretsRuntime(
            configuration: .init(maximumResponseBytes: 16_384), environment: standIn.functionEnvironment(["BIG": reference.description]))
        do {
            _ = try await small.value(forVariable: "BIG")
            XCTFail("an answer over the limit must fail")
        } catch let error as SecretsRuntimeError {
            XCTAssertEqual(error, .responseTooLarge(limit: 16_384))
        }
        let value = try await runtime(["BIG": reference.description]).value(forVariable: "BIG")
        XCTAssertEqual(value.count, big.count, "the default limit holds the largest Secrets Manager value")
    }
}

/// A clock the TTL tests move by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}
