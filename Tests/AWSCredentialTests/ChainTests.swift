import Foundation
import TestSupport
import XCTest

@testable import InjectSecretsAWS
@testable import InjectSecretsKit

final class ChainTests: XCTestCase {
    func credentials(_ environment: AWSEnvironment) async throws -> AWSCredentials {
        try await environment.credentialSource(client: HTTPClient(timeout: 5)).credentials()
    }

    func testEnvironmentBeatsFilesAndAWSProfile() async throws {
        let home = try AWSHome(
            config: "[profile dev]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = config-secret\n",
            variables: ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
                        "AWS_PROFILE": "dev"])
        defer { home.remove() }
        // AWS_PROFILE does not turn off the environment keys (botocore: only an explicit session profile does).
        let fromEnv = try await credentials(home.environment())
        XCTAssertEqual(fromEnv.accessKeyId, "AKIDENV")
        XCTAssertEqual(fromEnv.sessionToken, "env-token")
        // The manifest's profile is explicit: the environment is skipped.
        let fromProfile = try await credentials(home.environment(profile: "dev"))
        XCTAssertEqual(fromProfile.accessKeyId, "AKIDCONFIG")
        XCTAssertNil(fromProfile.sessionToken)
    }

    func testEnvironmentDetails() async throws {
        let home = try AWSHome(variables: [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SECURITY_TOKEN": "legacy",
            "AWS_CREDENTIAL_EXPIRATION": "2030-01-01T00:00:00Z",
        ])
        defer { home.remove() }
        let found = try await credentials(home.environment())
        XCTAssertEqual(found.sessionToken, "legacy")
        XCTAssertEqual(found.expiration, parseAWSTimestamp("2030-01-01T00:00:00Z"))

        var partial = home.variables
        partial["AWS_SECRET_ACCESS_KEY"] = nil
        let error = await failure { try await self.credentials(AWSEnvironment(variables: partial)) }
        XCTAssertEqual(error?.kind, .configuration)
        XCTAssertTrue(error?.message.contains("AWS_SECRET_ACCESS_KEY is not") == true, error?.message ?? "")
    }

    func testCredentialsFileBeatsConfigFileAndDefaultProfile() async throws {
        let home = try AWSHome(
            config: "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = c\n",
            credentials: "[default]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = k\naws_session_token = t\n")
        defer { home.remove() }
        let found = try await credentials(home.environment())
        XCTAssertEqual(found.accessKeyId, "AKIDCREDS")
        XCTAssertEqual(found.sessionToken, "t")
    }

    func testNamedProfileMustExist() async throws {
        let home = try AWSHome(config: "[default]\nregion = us-east-1\n", variables: ["AWS_PROFILE": "typo"])
        defer { home.remove() }
        let error = await failure { try await self.credentials(home.environment()) }
        XCTAssertEqual(error?.kind, .configuration)
        XCTAssertTrue(error?.message.contains("'typo' (from AWS_PROFILE)") == true, error?.message ?? "")
        XCTAssertTrue(error?.message.contains(home.configPath) == true, error?.message ?? "")
    }

    func testNothingFoundListsWhatWasChecked() async throws {
        let home = try AWSHome()
        defer { home.remove() }
        let error = await failure { try await self.credentials(home.environment()) }
        XCTAssertEqual(error?.kind, .authentication)
        let message = error?.message ?? ""
        XCTAssertTrue(message.contains("no AWS credentials found"), message)
        XCTAssertTrue(message.contains("AWS_EC2_METADATA_DISABLED"), message)
        XCTAssertTrue(message.contains("(no such file)"), message)
    }

    func testPartialKeysInFilesNameTheFileWithoutTheKey() async throws {
        let canary = Canary("file-key")
        let home = try AWSHome(credentials: "[default]\naws_access_key_id = \(canary.value)\n")
        defer { home.remove() }
        let error = await failure { try await self.credentials(home.environment()) }
        let message = error?.message ?? ""
        XCTAssertTrue(message.contains(home.credentialsPath) && message.contains("no aws_secret_access_key"), message)
        XCTAssertTrue(canary.leaks(in: ["error": message]).isEmpty)
    }

    func testAssumeRoleConfigurationErrors() async throws {
        let home = try AWSHome(
            config: """
                [profile both]
                role_arn = arn:aws:iam::123456789012:role/r
                source_profile = base
                credential_source = Environment
                [profile neither]
                role_arn = arn:aws:iam::123456789012:role/r
                [profile missing]
                role_arn = arn:aws:iam::123456789012:role/r
                source_profile = ghost
                [profile a]
                role_arn = arn:aws:iam::123456789012:role/a
                source_profile = b
                [profile b]
                role_arn = arn:aws:iam::123456789012:role/b
                source_profile = a
                [profile badsource]
                role_arn = arn:aws:iam::123456789012:role/r
                credential_source = Laptop
                [profile envsource]
                role_arn = arn:aws:iam::123456789012:role/r
                credential_source = Environment
                [profile mfa]
                role_arn = arn:aws:iam::123456789012:role/r
                source_profile = base
                mfa_serial = arn:aws:iam::123456789012:mfa/me
                [profile sso]
                sso_session = corp
                [profile empty-source]
                role_arn = arn:aws:iam::123456789012:role/r
                source_profile = nokeys
                [profile nokeys]
                region = us-east-1
                """)
        defer { home.remove() }
        let expectations: [(String, String)] = [
            ("both", "both source_profile and credential_source"),
            ("neither", "neither source_profile nor credential_source"),
            ("missing", "source_profile 'ghost'"),
            ("a", "loop: 'a' → 'b' → 'a'"),
            ("badsource", "use Environment, Ec2InstanceMetadata or EcsContainer"),
            ("envsource", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
            ("mfa", "cannot prompt"),
            ("sso", "IAM Identity Center"),
            ("empty-source", "source_profile 'nokeys' of profile 'empty-source' has no credentials"),
        ]
        for (profile, expected) in expectations {
            let error = await failure { try await self.credentials(home.environment(profile: profile)) }
            XCTAssertEqual(error?.kind, .configuration, profile)
            XCTAssertTrue(error?.message.contains(expected) == true, "\(profile): \(error?.message ?? "")")
            XCTAssertTrue(error?.message.contains(home.configPath) == true || profile == "a" || profile == "empty-source",
                          "\(profile): names the file: \(error?.message ?? "")")
        }
    }

    func testWebIdentityWithoutRoleIsAnError() async throws {
        let home = try AWSHome(variables: ["AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent/token"])
        defer { home.remove() }
        let error = await failure { try await self.credentials(home.environment()) }
        XCTAssertEqual(error?.kind, .configuration)
        XCTAssertTrue(error?.message.contains("AWS_ROLE_ARN") == true, error?.message ?? "")
    }

    func testUnparsableConfigFileIsAConfigurationError() async throws {
        let home = try AWSHome(config: "region = us-east-1\n")
        defer { home.remove() }
        let error = await failure { try await self.credentials(home.environment()) }
        XCTAssertEqual(error?.kind, .configuration)
        XCTAssertTrue(error?.message.hasPrefix(home.configPath + ":1:") == true, error?.message ?? "")
    }

    func testCachedAndRefreshedBeforeExpiry() async throws {
        final class Counter: @unchecked Sendable {
            let lock = NSLock()
            var value = 0
            func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
        }
        let counter = Counter()
        // Lives 20 minutes: inside the 15-minute advisory window? No: cached.
        let longLived = RefreshingCredentials(name: "test") {
            let n = counter.next()
            return AWSCredentials(accessKeyId: "K\(n)", secretAccessKey: "s", expiration: Date().addingTimeInterval(20 * 60))
        }
        let firsts = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await longLived.credentials().accessKeyId } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        XCTAssertEqual(Set(firsts), ["K1"], "concurrent callers share one fetch")
        let fetches = await longLived.fetchCount
        XCTAssertEqual(fetches, 1)

        // Expires in 5 minutes: every call refreshes.
        let shortLived = RefreshingCredentials(name: "test") {
            let n = counter.next()
            return AWSCredentials(accessKeyId: "S\(n)", secretAccessKey: "s", expiration: Date().addingTimeInterval(5 * 60))
        }
        let a = try await shortLived.credentials().accessKeyId
        let b = try await shortLived.credentials().accessKeyId
        XCTAssertNotEqual(a, b)

        // A failed advisory refresh keeps credentials that still have more than 10 minutes.
        let flaky = RefreshingCredentials(
            name: "test", initial: AWSCredentials(accessKeyId: "OLD", secretAccessKey: "s", expiration: Date().addingTimeInterval(12 * 60))
        ) { throw ProviderFailure(.unreachable, "down") }
        let kept = try await flaky.credentials().accessKeyId
        XCTAssertEqual(kept, "OLD")
    }

    func testCredentialsNeverPrintTheirSecrets() {
        let canary = Canary("secret")
        let credentials = AWSCredentials(accessKeyId: "AKID", secretAccessKey: canary.value, sessionToken: canary.value)
        let texts = ["description": "\(credentials)", "debug": String(reflecting: credentials), "dump": { var s = ""; dump(credentials, to: &s); return s }()]
        XCTAssertEqual(canary.leaks(in: texts), [])
    }
}
