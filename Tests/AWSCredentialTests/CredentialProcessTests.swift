import Foundation
import TestSupport
import XCTest

@testable import InjectSecretsAWS
@testable import InjectSecretsKit

final class CredentialProcessTests: XCTestCase {
    func credentials(_ environment: AWSEnvironment) async throws -> AWSCredentials {
        try await environment.credentialSource(client: HTTPClient(timeout: 5)).credentials()
    }

    func testRunsWithoutAShellAndReadsVersion1JSON() async throws {
        let secret = Canary("process-secret").value
        let home = try AWSHome()
        defer { home.remove() }
        // Arguments with spaces and shell characters arrive intact: no shell ran.
        let script = try home.file(
            "creds script.sh",
            """
            #!/bin/sh
            [ "$1" = "two words" ] || { echo "bad arg 1: $1" >&2; exit 3; }
            [ "$2" = '$HOME;x' ] || { echo "bad arg 2: $2" >&2; exit 4; }
            echo '{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "\(secret)", "SessionToken": "tok", "Expiration": "2030-01-01T00:00:00Z"}'
            """, executable: true)
        try """
            [default]
            credential_process = "\(script)" "two words" '$HOME;x'
            """.write(toFile: home.configPath, atomically: true, encoding: .utf8)
        let found = try await credentials(home.environment())
        XCTAssertEqual(found.accessKeyId, "AKIDPROC")
        XCTAssertEqual(found.secretAccessKey, secret)
        XCTAssertEqual(found.sessionToken, "tok")
        XCTAssertEqual(found.expiration, parseAWSTimestamp("2030-01-01T00:00:00Z"))
    }

    func testProgramOnPathAndInTheCredentialsFile() async throws {
        let home = try AWSHome(credentials: "[ci]\ncredential_process = fake-creds --role x\n")
        defer { home.remove() }
        let bin = home.directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let script = bin.appendingPathComponent("fake-creds")
        try "#!/bin/sh\necho '{\"Version\":1,\"AccessKeyId\":\"AKIDPATH\",\"SecretAccessKey\":\"s\"}'\n"
            .write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        var variables = home.variables
        variables["PATH"] = bin.path + ":" + (variables["PATH"] ?? "")
        variables["AWS_PROFILE"] = "ci"
        let found = try await credentials(AWSEnvironment(variables: variables))
        XCTAssertEqual(found.accessKeyId, "AKIDPATH")
        XCTAssertNil(found.expiration)
    }

    func testNonZeroExitShowsStderrButNoSecret() async throws {
        let secret = Canary("printed-secret")
        let home = try AWSHome()
        defer { home.remove() }
        // The command prints a secret on stdout and then, carelessly, on stderr too.
        let script = try home.file(
            "fail.sh",
            """
            #!/bin/sh
            echo '{"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": "\(secret.value)"}'
            echo "token expired for sso session corp; secret was \(secret.value)" >&2
            exit 7
            """, executable: true)
        try "[profile dev]\ncredential_process = \(script)\n".write(toFile: home.configPath, atomically: true, encoding: .utf8)
        let error = await failure { try await self.credentials(home.environment(profile: "dev")) }
        let message = error?.message ?? ""
        XCTAssertEqual(error?.kind, .authentication)
        XCTAssertTrue(message.contains("exited with status 7"), message)
        XCTAssertTrue(message.contains("token expired for sso session corp"), "stderr is shown: \(message)")
        XCTAssertTrue(message.contains("profile 'dev'") && message.contains(home.configPath), message)
        XCTAssertEqual(secret.leaks(in: ["error": message]), [])
    }

    func testBadOutputsAreClearErrorsWithoutEchoingStdout() async throws {
        let secret = Canary("stdout-secret")
        let home = try AWSHome()
        defer { home.remove() }
        let outputs: [(String, String)] = [
            (#"{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "\#(secret.value)"}"#, "unsupported output Version '2'"),
            (#"{"AccessKeyId": "A", "SecretAccessKey": "\#(secret.value)"}"#, "Version 'none'"),
            (#"{"Version": 1, "AccessKeyId": "A"}"#, "lacks AccessKeyId or SecretAccessKey"),
            ("not json \(secret.value)", "did not print a JSON object"),
            (#"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "\#(secret.value)", "Expiration": "soon"}"#, "Expiration 'soon'"),
        ]
        for (index, (output, expected)) in outputs.enumerated() {
            let outFile = try home.file("out\(index).txt", output)
            let script = try home.file("p\(index).sh", "#!/bin/sh\ncat '\(outFile)'\n", executable: true)
            try "[default]\ncredential_process = \(script)\n".write(toFile: home.configPath, atomically: true, encoding: .utf8)
            let error = await failure { try await self.credentials(home.environment()) }
            let message = error?.message ?? ""
            XCTAssertTrue(message.contains(expected), "\(index): \(message)")
            XCTAssertEqual(secret.leaks(in: ["error": message]), [], "\(index)")
        }
    }

    func testMissingProgramAndUnsplittableCommand() async throws {
        let home = try AWSHome(config: "[default]\ncredential_process = /nonexistent/creds --x\n[profile q]\ncredential_process = 'unclosed\n")
        defer { home.remove() }
        let missing = await failure { try await self.credentials(home.environment()) }
        XCTAssertEqual(missing?.kind, .configuration)
        XCTAssertTrue(missing?.message.contains("'/nonexistent/creds' was not found") == true, missing?.message ?? "")
        let unsplittable = await failure { try await self.credentials(home.environment(profile: "q")) }
        XCTAssertTrue(unsplittable?.message.contains("quotation mark") == true, unsplittable?.message ?? "")
    }

    func testProcessIsStoppedAfterTimeout() async throws {
        let home = try AWSHome()
        defer { home.remove() }
        let script = try home.file("slow.sh", "#!/bin/sh\ntrap '' TERM\nexec sleep 30\n", executable: true)
        let process = CredentialProcess(command: script, source: "credential_process of test", environment: home.variables, timeout: 1)
        let start = Date()
        let error = await failure { try await process.credentials() }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("did not finish within 1 s") == true, error?.message ?? "")
    }

    func testSourceProfileWithCredentialProcessFeedsAssumeRoleConfiguration() throws {
        // Resolution only (no STS call): the chain picks AssumeRole over the profile's other settings.
        let home = try AWSHome(
            config: """
                [profile role]
                role_arn = arn:aws:iam::123456789012:role/deploy
                source_profile = base
                credential_process = /should/not/run
                [profile base]
                credential_process = /bin/true
                """)
        defer { home.remove() }
        let files = try AWSSharedFiles.load(variables: home.variables)
        let profiles = ProfileCredentials(
            files: files, variables: home.variables,
            sts: STSClient(endpoint: "http://127.0.0.1:9", signingRegion: "us-east-1", client: HTTPClient(), signer: nil),
            client: HTTPClient())
        let source = try profiles.assumeRole("role", visited: ["role"])
        XCTAssertNotNil(source)
        XCTAssertTrue((source as? RefreshingCredentials)?.name.contains("AssumeRole of arn:aws:iam::123456789012:role/deploy") == true)
    }
}
