import Foundation
import TestSupport
import XCTest

@testable import InjectSecretsAWS
@testable import InjectSecretsKit

/// Container credentials and IMDS against a scripted loopback server.
final class MetadataEndpointTests: XCTestCase {
    var server: ScriptedServer!

    override func setUpWithError() throws {
        server = try ScriptedServer(routes: [:])
    }

    override func tearDown() {
        server?.stop()
    }

    func chain(_ variables: [String: String], profile: String? = nil) -> any AWSCredentialSource {
        AWSEnvironment(variables: variables, profile: profile).credentialSource(client: HTTPClient(timeout: 5))
    }

    // MARK: Container

    func testContainerFullURIWithTokenFile() async throws {
        let secret = Canary("container-secret"), authToken = Canary("container-auth")
        try server.setRoutes(["GET /v1/credentials": ["body": credentialsJSON(accessKeyId: "ASIACONTAINER", secret: secret.value, token: "session")]])
        let home = try AWSHome()
        defer { home.remove() }
        let tokenFile = try home.file("token", authToken.value + "\n")
        var variables = home.variables
        variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.baseURL + "/v1/credentials"
        variables["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tokenFile
        variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "ignored-when-the-file-is-set"
        let found = try await chain(variables).credentials()
        XCTAssertEqual(found.accessKeyId, "ASIACONTAINER")
        XCTAssertEqual(found.secretAccessKey, secret.value)
        XCTAssertEqual(found.sessionToken, "session")
        XCTAssertNotNil(found.expiration)
        let request = try XCTUnwrap(server.requests().last)
        XCTAssertEqual(request.method, "GET")
        XCTAssertEqual(request.headers["authorization"], authToken.value, "the file's token, trailing newline dropped")
        XCTAssertEqual(request.headers["accept"], "application/json")

        // The token file is read on every fetch.
        try "rotated-token".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        _ = try await ContainerCredentials.configured(variables: variables, client: HTTPClient())!.credentials()
        XCTAssertEqual(server.requests().last?.headers["authorization"], "rotated-token")
    }

    func testContainerTokenFromVariableAndRelativeURI() async throws {
        try server.setRoutes(["GET /creds": ["body": credentialsJSON(accessKeyId: "ASIAVAR", secret: "s", token: "t")]])
        let container = try XCTUnwrap(ContainerCredentials.configured(
            variables: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer abc"],
            client: HTTPClient()))
        _ = try await container.credentials()
        XCTAssertEqual(server.requests().last?.headers["authorization"], "Bearer abc")
        // The relative URI goes to the ECS address; it wins over FULL_URI.
        let relative = try XCTUnwrap(ContainerCredentials.configured(
            variables: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "https://x.example"],
            client: HTTPClient()))
        XCTAssertEqual(relative.url.absoluteString, "http://169.254.170.2/v2/credentials/abc")
    }

    func testContainerRefusesLineBreaksAndForeignPlainHTTP() async throws {
        let token = Canary("crlf-token")
        let injected = ContainerCredentials(
            url: URL(string: server.baseURL + "/creds")!, urlVariable: "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            variables: ["AWS_CONTAINER_AUTHORIZATION_TOKEN": token.value + "\r\nX-Injected: 1"], client: HTTPClient())
        let error = await failure { try await injected.credentials() }
        XCTAssertEqual(error?.kind, .configuration)
        XCTAssertTrue(error?.message.contains("line break") == true, error?.message ?? "")
        XCTAssertEqual(token.leaks(in: ["error": error?.message ?? ""]), [])
        XCTAssertTrue(server.requests().isEmpty, "nothing was sent")

        for url in ["http://creds.example.com/x", "http://169.254.169.254/latest", "ftp://127.0.0.1/x"] {
            XCTAssertThrowsError(try ContainerCredentials.configured(
                variables: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url], client: HTTPClient()), url) {
                XCTAssertTrue(String(describing: $0).contains("AWS_CONTAINER_CREDENTIALS_FULL_URI must use https"), "\($0)")
            }
        }
    }

    func testContainerErrorsRetryAndRedactTheToken() async throws {
        let token = Canary("echoed-token")
        try server.setRoutes(["GET /creds": ["status": 403, "body": "denied for token \(token.value)"]])
        var container = try XCTUnwrap(ContainerCredentials.configured(
            variables: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN": token.value],
            client: HTTPClient()))
        container.pause = 0
        let error = await failure { try await container.credentials() }
        XCTAssertEqual(error?.kind, .accessDenied, "403 reads as StatusTable says, the same for every credential endpoint")
        XCTAssertTrue(error?.message.contains("HTTP 403") == true && error?.message.contains("after 3 attempts") == true, error?.message ?? "")
        XCTAssertEqual(token.leaks(in: ["error": error?.message ?? ""]), [])
        XCTAssertEqual(server.requests().count, 3)
    }

    // MARK: IMDS

    func imdsVariables(_ extra: [String: String] = [:]) throws -> (AWSHome, [String: String]) {
        let home = try AWSHome()
        var variables = home.variables
        variables["AWS_EC2_METADATA_DISABLED"] = nil
        variables["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.baseURL
        variables.merge(extra) { $1 }
        return (home, variables)
    }

    func testIMDSv2() async throws {
        let imdsToken = Canary("imds-token"), secret = Canary("imds-secret")
        try server.setRoutes([
            "PUT /latest/api/token": ["body": imdsToken.value],
            "GET /latest/meta-data/iam/security-credentials/": ["body": "web-role"],
            "GET /latest/meta-data/iam/security-credentials/web-role": [
                "body": credentialsJSON(accessKeyId: "ASIAIMDS", secret: secret.value, token: "imds-session")
            ],
        ])
        let (home, variables) = try imdsVariables()
        defer { home.remove() }
        let found = try await chain(variables).credentials()
        XCTAssertEqual(found.accessKeyId, "ASIAIMDS")
        XCTAssertEqual(found.secretAccessKey, secret.value)
        XCTAssertEqual(found.sessionToken, "imds-session")
        let requests = server.requests()
        XCTAssertEqual(requests.map { "\($0.method) \($0.path)" }, [
            "PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/",
            "GET /latest/meta-data/iam/security-credentials/web-role",
        ])
        XCTAssertEqual(requests[0].headers["x-aws-ec2-metadata-token-ttl-seconds"], "21600")
        XCTAssertNil(requests[0].headers["x-aws-ec2-metadata-token"])
        XCTAssertEqual(requests[1].headers["x-aws-ec2-metadata-token"], imdsToken.value)
        XCTAssertEqual(requests[2].headers["x-aws-ec2-metadata-token"], imdsToken.value)
    }

    func testIMDSv1FallbackOn405AndTimeout() async throws {
        let routes: [String: Any] = [
            "PUT /latest/api/token": ["status": 405, "body": ""],
            "GET /latest/meta-data/iam/security-credentials/": ["body": "v1-role\n"],
            "GET /latest/meta-data/iam/security-credentials/v1-role": ["body": credentialsJSON(accessKeyId: "ASIAV1", secret: "s", token: "t")],
        ]
        try server.setRoutes(routes)
        let (home, variables) = try imdsVariables()
        defer { home.remove() }
        let found = try await chain(variables).credentials()
        XCTAssertEqual(found.accessKeyId, "ASIAV1")
        XCTAssertEqual(server.requests().filter { $0.headers["x-aws-ec2-metadata-token"] != nil }.count, 0, "IMDSv1: no token header")

        // A token PUT that does not answer within the 1 s timeout also falls back to IMDSv1.
        var slow = routes
        slow["PUT /latest/api/token"] = ["body": "late-token", "delay": 3]
        try server.setRoutes(slow)
        try server.clearLog()
        let start = Date()
        let again = try await chain(variables).credentials()
        XCTAssertEqual(again.accessKeyId, "ASIAV1")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.9, "the 1 s IMDS timeout applied")
        XCTAssertEqual(server.requests().filter { $0.method == "GET" }.count, 2)
    }

    func testIMDSv1DisabledAnd400() async throws {
        try server.setRoutes(["PUT /latest/api/token": ["status": 403, "body": ""]])
        let (home, variables) = try imdsVariables(["AWS_EC2_METADATA_V1_DISABLED": "true"])
        defer { home.remove() }
        let error = await failure { try await self.chain(variables).credentials() }
        XCTAssertTrue(error?.message.contains("IMDSv1 is disabled") == true, error?.message ?? "")
        XCTAssertEqual(server.requests().filter { $0.method == "GET" }.count, 0)

        try server.setRoutes(["PUT /latest/api/token": ["status": 400, "body": ""]])
        var plain = variables
        plain["AWS_EC2_METADATA_V1_DISABLED"] = nil
        let refused = await failure { try await self.chain(plain).credentials() }
        XCTAssertTrue(refused?.message.contains("refused the token request (HTTP 400)") == true, refused?.message ?? "")
    }

    func testIMDSWithoutCredentialsForTheRole() async throws {
        try server.setRoutes([
            "PUT /latest/api/token": ["body": "tok"],
            "GET /latest/meta-data/iam/security-credentials/": ["body": "role"],
            "GET /latest/meta-data/iam/security-credentials/role": ["body": ["Code": "AssumeRoleUnauthorizedAccess", "Message": "EC2 cannot assume the role"]],
        ])
        let (home, variables) = try imdsVariables()
        defer { home.remove() }
        let error = await failure { try await self.chain(variables).credentials() }
        XCTAssertEqual(error?.kind, .authentication)
        XCTAssertTrue(error?.message.contains("AssumeRoleUnauthorizedAccess") == true, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("no AWS credentials found") == true, error?.message ?? "")
    }

    func testMetadataDisabledSendsNothing() async throws {
        try server.setRoutes(["PUT /latest/api/token": ["body": "tok"]])
        let (home, variables) = try imdsVariables(["AWS_EC2_METADATA_DISABLED": "True"])
        defer { home.remove() }
        let error = await failure { try await self.chain(variables).credentials() }
        XCTAssertTrue(error?.message.contains("turned off by AWS_EC2_METADATA_DISABLED") == true, error?.message ?? "")
        XCTAssertTrue(server.requests().isEmpty)
    }

    func testRealIMDSAddressIsReachedOverPlainHTTP() async throws {
        // The link-local exception in action: the request is made (and, off EC2, times out or fails)
        // instead of being refused by the HTTPS rule.
        var imds = try XCTUnwrap(InstanceMetadataCredentials.configured(
            variables: [:], profile: AWSProfile(name: "default", values: [:], origins: [:], exists: false), client: HTTPClient()))
        XCTAssertEqual(imds.baseURL, "http://169.254.169.254")
        imds.timeout = 0.3
        let start = Date()
        switch try await imds.fetch() {
        case .unavailable(let why):
            XCTAssertTrue(why.contains("169.254.169.254"), why)
            XCTAssertFalse(why.contains("HTTPS is required"), why)
        case .credentials:
            break  // running on EC2 with a role: also fine
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        // The transport, not the HTTPS rule, is what stops the request off EC2.
        do {
            _ = try await AWSCredentialEndpoint.send(
                HTTPRequest(method: "PUT", url: URL(string: "http://169.254.169.254/latest/api/token")!), kind: .instanceMetadata,
                timeout: 0.3, client: HTTPClient())
        } catch {
            XCTAssertFalse(error is EndpointPolicy.Violation, "\(error)")
        }
        do {
            _ = try await AWSCredentialEndpoint.send(
                HTTPRequest(method: "GET", url: URL(string: "http://169.254.169.254/latest")!), kind: .container, timeout: 0.3,
                client: HTTPClient())
            XCTFail("IMDS is not a container endpoint")
        } catch {
            XCTAssertTrue(error is EndpointPolicy.Violation, "\(error)")
        }
    }

    func testIMDSEndpointOverrideMustBeLoopbackOrHTTPS() async throws {
        let (home, variables) = try imdsVariables(["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://imds.example.com"])
        defer { home.remove() }
        let error = await failure { try await self.chain(variables).credentials() }
        XCTAssertEqual(error?.kind, .configuration)
        XCTAssertTrue(error?.message.contains("AWS_EC2_METADATA_SERVICE_ENDPOINT") == true, error?.message ?? "")
    }

    func testCredentialSourceNamesContainerAndIMDS() async throws {
        // credential_source = EcsContainer: the container gives the source credentials; the STS call then
        // fails (no signer or no STS here), but only after the container was asked.
        try server.setRoutes(["GET /creds": ["body": credentialsJSON(accessKeyId: "ASIASRC", secret: "s", token: "t")]])
        let home = try AWSHome(config: "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = EcsContainer\n")
        defer { home.remove() }
        var variables = home.variables
        variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.baseURL + "/creds"
        variables["AWS_ENDPOINT_URL_STS"] = server.baseURL
        _ = try? await chain(variables, profile: "role").credentials()
        XCTAssertEqual(server.requests().first.map { "\($0.method) \($0.path)" }, "GET /creds")
    }
}
