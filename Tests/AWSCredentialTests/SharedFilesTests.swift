import Foundation
import TestSupport
import XCTest

@testable import InjectSecretsAWS
@testable import InjectSecretsKit

/// A throwaway HOME with `.aws/config` and `.aws/credentials`, and the variables that point at it.
struct AWSHome {
    let directory: URL
    var variables: [String: String]

    init(config: String? = nil, credentials: String? = nil, variables extra: [String: String] = [:]) throws {
        directory = try makeTemporaryDirectory("awshome")
        let aws = directory.appendingPathComponent(".aws")
        try FileManager.default.createDirectory(at: aws, withIntermediateDirectories: true)
        if let config { try config.write(to: aws.appendingPathComponent("config"), atomically: true, encoding: .utf8) }
        if let credentials {
            try credentials.write(to: aws.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
        }
        // Only what the test gives: nothing of the real environment leaks into the chain.
        variables = ["HOME": directory.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                     "AWS_EC2_METADATA_DISABLED": "true"]
        variables.merge(extra) { $1 }
    }

    var configPath: String { directory.appendingPathComponent(".aws/config").path }
    var credentialsPath: String { directory.appendingPathComponent(".aws/credentials").path }

    func file(_ name: String, _ contents: String, executable: Bool = false) throws -> String {
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path) }
        return url.path
    }

    func environment(profile: String? = nil) -> AWSEnvironment { AWSEnvironment(variables: variables, profile: profile) }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// Asserts that `body` throws a `ProviderFailure` and returns it.
func failure<T>(_ body: () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async -> ProviderFailure? {
    do {
        _ = try await body()
        XCTFail("expected a ProviderFailure", file: file, line: line)
    } catch let failure as ProviderFailure {
        return failure
    } catch {
        XCTFail("expected a ProviderFailure, got \(error)", file: file, line: line)
    }
    return nil
}

final class SharedFilesTests: XCTestCase {
    func testINIParsingFollowsRawConfigParser() throws {
        let text = """
            # a comment
            ; another comment
            [default]
            region = us-west-2
            Output: json
            odd = a # not a comment

            [profile dev]
            region=eu-west-1
            services = local
            s3 =
              max_concurrent_requests = 4
            \tsignature_version = s3v4
            multi = first
              second

            [services local]
            secrets_manager =
              endpoint_url = http://127.0.0.1:1111
            sts =
              endpoint_url = http://127.0.0.1:2222
            """
        let ini = try AWSINIFile.parse(text, path: "/tmp/config")
        XCTAssertEqual(ini.sections.map(\.name), ["default", "profile dev", "services local"])
        let defaults = try XCTUnwrap(ini.section("default"))
        XCTAssertEqual(defaults.values["region"], .text("us-west-2"))
        XCTAssertEqual(defaults.values["output"], .text("json"), "keys are lowercased, ':' separates too")
        XCTAssertEqual(defaults.values["odd"], .text("a # not a comment"), "no inline comments, as botocore")
        // An indented line continues the value above, even a section header after a blank line.
        let continued = try AWSINIFile.parse("[default]\nodd = a\n\n  [profile dev]\nregion = 1\n", path: "/tmp/c")
        XCTAssertEqual(continued.sections.map(\.name), ["default"])
        XCTAssertEqual(continued.section("default")?.values["odd"], .text("a\n\n[profile dev]"))
        let dev = try XCTUnwrap(ini.section("profile dev"))
        XCTAssertEqual(dev.values["s3"], .nested(["max_concurrent_requests": "4", "signature_version": "s3v4"]))
        XCTAssertEqual(dev.values["multi"], .text("first\nsecond"))
        let services = try XCTUnwrap(ini.section("services local"))
        XCTAssertEqual(services.values["secrets_manager"], .nested(["endpoint_url": "http://127.0.0.1:1111"]))
    }

    func testINIErrorsNameFileAndLineButNotTheText() throws {
        let secret = Canary("ini-secret").value
        let cases: [(String, String)] = [
            ("aws_secret_access_key = \(secret)\n", "before any [section]"),
            ("[default]\n\(secret)\n", "expected '[section]' or 'key = value'"),
            ("[default]\na = 1\n[default]\n", "appears twice"),
            ("[default]\nkey = 1\nKEY = \(secret)\n", "set twice"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try AWSINIFile.parse(text, path: "/x/credentials")) { error in
                let message = String(describing: error)
                XCTAssertTrue(message.contains(expected), message)
                XCTAssertTrue(message.hasPrefix("/x/credentials:"), message)
                XCTAssertFalse(message.contains(secret), "an INI error quoted a secret: \(message)")
            }
        }
    }

    func testShellSplitLikeShlex() throws {
        XCTAssertEqual(try shellSplit("a b  c"), ["a", "b", "c"])
        XCTAssertEqual(try shellSplit("'/path with space/x' --flag \"two words\""), ["/path with space/x", "--flag", "two words"])
        XCTAssertEqual(try shellSplit(#"a\ b "q\"uote" 'lit\eral' "back\slash""#), ["a b", "q\"uote", #"lit\eral"#, #"back\slash"#])
        XCTAssertEqual(try shellSplit("x''y \"\""), ["xy", ""])
        XCTAssertEqual(try shellSplit("$HOME ~/x"), ["$HOME", "~/x"], "nothing is expanded")
        XCTAssertThrowsError(try shellSplit("'open"))
        XCTAssertThrowsError(try shellSplit("end\\"))
    }

    func testProfilesMergeConfigAndCredentialsFiles() throws {
        let home = try AWSHome(
            config: """
                [default]
                region = us-east-2
                [profile dev]
                region = eu-west-1
                role_arn = arn:aws:iam::1:role/config
                [dev]
                region = not-a-profile-in-the-config-file
                [profile default]
                output = text
                """,
            credentials: """
                [dev]
                aws_access_key_id = AKIDDEV
                role_arn = arn:aws:iam::1:role/creds
                [profile dev]
                aws_access_key_id = literal-section-name
                """)
        defer { home.remove() }
        let files = try AWSSharedFiles.load(variables: home.variables)
        let dev = files.profile("dev")
        XCTAssertTrue(dev.exists)
        XCTAssertEqual(dev["region"], "eu-west-1")
        XCTAssertEqual(dev["role_arn"], "arn:aws:iam::1:role/creds", "the credentials file wins key by key")
        XCTAssertEqual(dev["aws_access_key_id"], "AKIDDEV")
        XCTAssertTrue(dev.place(of: "role_arn").contains(home.credentialsPath))
        XCTAssertTrue(dev.place(of: "region").contains(home.configPath))
        XCTAssertTrue(files.profile("profile dev").exists, "in the credentials file, [profile dev] is a profile named 'profile dev'")
        XCTAssertFalse(files.profile("nope").exists)
        XCTAssertEqual(files.profileNames(), ["default", "dev", "profile dev"])
    }

    func testFileLocationsFromVariables() throws {
        let home = try AWSHome()
        defer { home.remove() }
        let config = try home.file("alt-config", "[profile alt]\nregion = ap-south-1\n")
        let credentials = try home.file("alt-creds", "[alt]\naws_access_key_id = A\naws_secret_access_key = B\n")
        var variables = home.variables
        variables["AWS_CONFIG_FILE"] = config
        variables["AWS_SHARED_CREDENTIALS_FILE"] = credentials
        variables["AWS_PROFILE"] = "alt"
        let environment = AWSEnvironment(variables: variables)
        XCTAssertEqual(environment.region(manifestRegion: nil), "ap-south-1")
        let files = try AWSSharedFiles.load(variables: variables)
        XCTAssertEqual(files.configPath, config)
        XCTAssertEqual(files.profile("alt")["aws_access_key_id"], "A")
        // "~" is the HOME of the variables.
        variables["AWS_CONFIG_FILE"] = "~/alt-config"
        XCTAssertEqual(try AWSSharedFiles.load(variables: variables).configPath, config)
    }

    func testProfileSelectionOrder() throws {
        let home = try AWSHome()
        defer { home.remove() }
        var variables = home.variables
        XCTAssertEqual(AWSEnvironment(variables: variables).profileName, "default")
        variables["AWS_PROFILE"] = "from-profile"
        XCTAssertEqual(AWSEnvironment(variables: variables).profileName, "from-profile")
        variables["AWS_DEFAULT_PROFILE"] = "from-default-profile"
        XCTAssertEqual(AWSEnvironment(variables: variables).profileName, "from-default-profile", "botocore reads AWS_DEFAULT_PROFILE first")
        XCTAssertEqual(AWSEnvironment(variables: variables, profile: "manifest").profileName, "manifest")
        variables["AWS_DEFAULT_PROFILE"] = ""
        XCTAssertEqual(AWSEnvironment(variables: variables).profileName, "from-profile", "an empty variable is unset")
    }

    func testRegionPrecedence() throws {
        let home = try AWSHome(config: "[default]\nregion = from-config\n[profile p]\nregion = from-p\n")
        defer { home.remove() }
        var variables = home.variables
        XCTAssertEqual(AWSEnvironment(variables: variables).region(manifestRegion: nil), "from-config")
        XCTAssertEqual(AWSEnvironment(variables: variables, profile: "p").region(manifestRegion: nil), "from-p")
        variables["AWS_DEFAULT_REGION"] = "from-default-region"
        XCTAssertEqual(AWSEnvironment(variables: variables).region(manifestRegion: nil), "from-default-region")
        variables["AWS_REGION"] = "from-region"
        XCTAssertEqual(AWSEnvironment(variables: variables).region(manifestRegion: nil), "from-region")
        XCTAssertEqual(AWSEnvironment(variables: variables).region(manifestRegion: "from-manifest"), "from-manifest")
        XCTAssertEqual(AWSEnvironment(variables: variables).region(manifestRegion: ""), "from-region")
    }

    func testEndpointPrecedenceAsBotocore() throws {
        let home = try AWSHome(
            config: """
                [default]
                endpoint_url = https://profile-global.example
                services = local
                [services local]
                secrets_manager =
                  endpoint_url = https://services-sm.example
                secretsmanager =
                  endpoint_url = https://ignored.example
                sts =
                  endpoint_url = http://127.0.0.1:9
                """)
        defer { home.remove() }
        var variables = home.variables
        func endpoint(_ id: String, _ key: String) -> String? {
            AWSEnvironment(variables: variables).endpoint(serviceID: id, configKey: key)
        }
        XCTAssertEqual(endpoint("SECRETS_MANAGER", "secrets_manager"), "https://services-sm.example")
        XCTAssertEqual(endpoint("STS", "sts"), "http://127.0.0.1:9")
        XCTAssertEqual(endpoint("SSM", "ssm"), "https://profile-global.example", "no [services] key: the profile's endpoint_url")
        variables["AWS_ENDPOINT_URL"] = "https://env-global.example"
        XCTAssertEqual(endpoint("SECRETS_MANAGER", "secrets_manager"), "https://env-global.example")
        variables["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = "https://env-sm.example"
        XCTAssertEqual(endpoint("SECRETS_MANAGER", "secrets_manager"), "https://env-sm.example")
        XCTAssertEqual(endpoint("SSM", "ssm"), "https://env-global.example")
        variables["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "TRUE"
        XCTAssertNil(endpoint("SECRETS_MANAGER", "secrets_manager"))
        XCTAssertNil(endpoint("STS", "sts"))
    }

    func testIgnoreConfiguredEndpointsFromProfileAndMissingServicesSection() throws {
        let home = try AWSHome(
            config: """
                [default]
                endpoint_url = https://profile.example
                ignore_configured_endpoint_urls = true
                [profile broken]
                services = nowhere
                """)
        defer { home.remove() }
        var variables = home.variables
        variables["AWS_ENDPOINT_URL"] = "https://env.example"
        XCTAssertNil(AWSEnvironment(variables: variables).endpoint(serviceID: "SSM", configKey: "ssm"))
        variables["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "false"
        XCTAssertEqual(AWSEnvironment(variables: variables).endpoint(serviceID: "SSM", configKey: "ssm"), "https://env.example",
                       "the variable overrides the profile's setting")
        variables["AWS_ENDPOINT_URL"] = nil
        XCTAssertThrowsError(try AWSEnvironment(variables: variables, profile: "broken").configuredEndpoint(serviceID: "SSM", configKey: "ssm")) {
            XCTAssertTrue(String(describing: $0).contains("[services nowhere]"), "\($0)")
        }
    }

    func testTimestamps() throws {
        let base = try XCTUnwrap(parseAWSTimestamp("2026-11-29T12:00:00Z"))
        XCTAssertEqual(base.timeIntervalSince1970, 1_795_953_600)
        XCTAssertEqual(parseAWSTimestamp("2026-11-29T12:00:00.5Z")?.timeIntervalSince(base), 0.5)
        XCTAssertEqual(parseAWSTimestamp("2026-11-29T12:00:00.137720Z").map { $0.timeIntervalSince(base) } ?? -1, 0.13772, accuracy: 0.0001)
        XCTAssertEqual(parseAWSTimestamp("2026-11-29T13:00:00+01:00"), base)
        XCTAssertEqual(parseAWSTimestamp("2026-11-29T11:30:00-0030"), base)
        XCTAssertEqual(parseAWSTimestamp("2026-11-29T12:00:00"), base)
        XCTAssertNil(parseAWSTimestamp("2026-13-29T12:00:00Z"))
        XCTAssertNil(parseAWSTimestamp("tomorrow"))
        XCTAssertNil(parseAWSTimestamp("2026-11-29T12:00:00Zjunk"))
    }

    func testCredentialEndpointExceptionIsNarrow() throws {
        func allowed(_ text: String, _ kind: AWSCredentialEndpoint.Kind) -> Bool {
            (try? AWSCredentialEndpoint.check(URL(string: text)!, kind: kind)) != nil
        }
        XCTAssertTrue(allowed("http://169.254.169.254/latest/api/token", .instanceMetadata))
        XCTAssertTrue(allowed("http://[fd00:ec2::254]/latest/api/token", .instanceMetadata))
        XCTAssertFalse(allowed("http://169.254.170.2/creds", .instanceMetadata))
        XCTAssertTrue(allowed("http://169.254.170.2/v2/credentials/x", .container))
        XCTAssertTrue(allowed("http://169.254.170.23/v1/credentials", .container))
        XCTAssertTrue(allowed("http://[fd00:ec2::23]/v1/credentials", .container))
        XCTAssertTrue(allowed("http://127.0.0.1:8080/creds", .container))
        XCTAssertTrue(allowed("https://creds.example.com/x", .container))
        XCTAssertFalse(allowed("http://169.254.169.254/latest", .container))
        XCTAssertFalse(allowed("http://169.254.170.3/creds", .container))
        XCTAssertFalse(allowed("http://creds.example.com/x", .container))
        XCTAssertFalse(allowed("ftp://127.0.0.1/x", .container))
        // The general policy is untouched.
        XCTAssertThrowsError(try EndpointPolicy.checked("http://169.254.169.254/"))
        XCTAssertThrowsError(try EndpointPolicy.checked("http://169.254.170.2/"))
    }
}
