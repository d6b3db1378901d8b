import Foundation
import TestSupport
import XCTest

@testable import InjectSecretsAWS
@testable import InjectSecretsKit

/// A JWT-shaped token (moto accepts any; AWS would check the signature).
func fakeJWT(_ subject: String) -> String {
    func b64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
    return b64(#"{"alg":"RS256","typ":"JWT"}"#) + "." + b64(#"{"sub":"\#(subject)","aud":"sts.amazonaws.com"}"#) + ".c2lnbmF0dXJl"
}

/// The STS calls against a real moto_server.
final class MotoSTSTests: XCTestCase {
    // Written only by the class setUp and tearDown, which XCTest runs before and after the tests, never beside them.
    nonisolated(unsafe) static var moto: LoopbackServer?
    nonisolated(unsafe) static var skipReason: String?

    override class func setUp() {
        guard which("moto_server") != nil else {
            skipReason = try? missingServer("moto_server", install: "pip install 'moto[server]'")
            return
        }
        do {
            let port = try freePort()
            moto = try LoopbackServer(executable: "moto_server", arguments: ["-H", "127.0.0.1", "-p", String(port)], port: port, startupTimeout: 90)
        } catch {
            skipReason = "moto_server did not start: \(error)"
        }
    }

    override class func tearDown() {
        moto?.stop()
        moto = nil
    }

    func motoURL() throws -> String {
        if isCI, let skipReason = Self.skipReason { XCTFail(skipReason) }
        guard let moto = Self.moto else { throw XCTSkip(Self.skipReason ?? "moto_server is not running") }
        return moto.baseURL
    }

    func testWebIdentityFromEnvironment() async throws {
        let url = try motoURL()
        let home = try AWSHome()
        defer { home.remove() }
        let tokenFile = try home.file("web-token", fakeJWT("system:serviceaccount:ci:deployer") + "\n")
        var variables = home.variables
        variables["AWS_WEB_IDENTITY_TOKEN_FILE"] = tokenFile
        variables["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/web-deployer"
        variables["AWS_ROLE_SESSION_NAME"] = "ci-run-42"
        variables["AWS_ENDPOINT_URL_STS"] = url
        variables["AWS_REGION"] = "eu-central-1"
        let source = AWSEnvironment(variables: variables).credentialSource(client: HTTPClient(timeout: 10))
        let found = try await source.credentials()
        XCTAssertTrue(found.accessKeyId.hasPrefix("ASIA"), found.accessKeyId)
        XCTAssertFalse(found.secretAccessKey.isEmpty)
        XCTAssertFalse(found.sessionToken?.isEmpty ?? true)
        let expiration = try XCTUnwrap(found.expiration)
        XCTAssertGreaterThan(expiration.timeIntervalSinceNow, 30 * 60, "moto's default is one hour")
        // Cached for the run: the same credentials again.
        let again = try await source.credentials()
        XCTAssertEqual(again, found)

        try await assertUsable(found, moto: url, expectedArn: "assumed-role/web-deployer/ci-run-42")
    }

    func testWebIdentityInProfileThenAssumeRoleViaSourceProfile() async throws {
        let url = try motoURL()
        let home = try AWSHome()
        defer { home.remove() }
        let tokenFile = try home.file("web-token", fakeJWT("repo:org/app:ref:refs/heads/main"))
        try """
            [profile deploy]
            role_arn = arn:aws:iam::123456789012:role/deploy
            source_profile = oidc
            role_session_name = deploy-session
            region = us-west-2
            [profile oidc]
            web_identity_token_file = \(tokenFile)
            role_arn = arn:aws:iam::123456789012:role/oidc
            """.write(toFile: home.configPath, atomically: true, encoding: .utf8)
        var variables = home.variables
        variables["AWS_ENDPOINT_URL_STS"] = url
        variables["AWS_PROFILE"] = "deploy"
        let environment = AWSEnvironment(variables: variables)
        XCTAssertEqual(environment.region(manifestRegion: nil), "us-west-2")
        guard defaultRequestSigner != nil else {
            let error = await failure { try await environment.credentialSource(client: HTTPClient(timeout: 10)).credentials() }
            XCTAssertTrue(error?.message.contains("no SigV4 signer") == true, error?.message ?? "")
            throw XCTSkip("AssumeRole needs the SigV4 signer of the AWS providers (branch wt-aws), not in this build yet")
        }
        let found = try await environment.credentialSource(client: HTTPClient(timeout: 10)).credentials()
        XCTAssertTrue(found.accessKeyId.hasPrefix("ASIA"))
        try await assertUsable(found, moto: url, expectedArn: "assumed-role/deploy/deploy-session")
    }

    func testAssumeRoleWithStaticSourceKeys() async throws {
        let url = try motoURL()
        let home = try AWSHome(
            config: "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/static-chain\nsource_profile = keys\n",
            credentials: "[keys]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
        defer { home.remove() }
        var variables = home.variables
        variables["AWS_ENDPOINT_URL_STS"] = url
        guard defaultRequestSigner != nil else {
            throw XCTSkip("AssumeRole needs the SigV4 signer of the AWS providers (branch wt-aws), not in this build yet")
        }
        let found = try await AWSEnvironment(variables: variables, profile: "role").credentialSource(client: HTTPClient(timeout: 10)).credentials()
        try await assertUsable(found, moto: url, expectedArn: "assumed-role/static-chain/")
    }

    /// Proves the credentials work: a signed GetCallerIdentity with them names the assumed role.
    func assertUsable(_ credentials: AWSCredentials, moto: String, expectedArn: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        guard let signer = defaultRequestSigner else { return }
        var request = HTTPRequest(
            method: "POST", url: URL(string: moto)!, headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            body: Data("Action=GetCallerIdentity&Version=2011-06-15".utf8))
        request = signer.signed(request, credentials: credentials, region: "us-east-1", service: "sts", date: Date())
        let response = try await HTTPClient().send(request)
        let body = String(decoding: response.body, as: UTF8.self)
        XCTAssertEqual(response.status, 200, body, file: file, line: line)
        XCTAssertTrue(body.contains(expectedArn), body, file: file, line: line)
    }
}

/// STS wire details against a scripted server: the form body, XML errors, retries, token re-reads.
final class ScriptedSTSTests: XCTestCase {
    var server: ScriptedServer!

    override func setUpWithError() throws {
        server = try ScriptedServer(routes: [:])
    }

    override func tearDown() {
        server?.stop()
    }

    static func success(_ action: String, key: String, expiresIn: TimeInterval) -> String {
        let expiration = ISO8601DateFormatter().string(from: Date().addingTimeInterval(expiresIn))
        return """
            <\(action)Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><\(action)Result><Credentials>
            <AccessKeyId>\(key)</AccessKeyId><SecretAccessKey>secret-\(key)</SecretAccessKey><SessionToken>token-\(key)</SessionToken>
            <Expiration>\(expiration)</Expiration></Credentials></\(action)Result></\(action)Response>
            """
    }

    static func error(_ code: String, _ message: String) -> String {
        "<ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>\(message)</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    }

    func webIdentityVariables(_ home: AWSHome, token: String) throws -> [String: String] {
        var variables = home.variables
        variables["AWS_WEB_IDENTITY_TOKEN_FILE"] = try home.file("token", token)
        variables["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/r"
        variables["AWS_ENDPOINT_URL_STS"] = server.baseURL
        return variables
    }

    func testRequestShapeAndTokenReReadOnRefresh() async throws {
        // Credentials that live 5 minutes are inside the refresh window: each use fetches again.
        try server.setRoutes(["POST /": ["body": Self.success("AssumeRoleWithWebIdentity", key: "ASIASHORT", expiresIn: 300)]])
        let home = try AWSHome()
        defer { home.remove() }
        let first = fakeJWT("first")
        let variables = try webIdentityVariables(home, token: first)
        let source = AWSEnvironment(variables: variables).credentialSource(client: HTTPClient(timeout: 5))
        let found = try await source.credentials()
        XCTAssertEqual(found.accessKeyId, "ASIASHORT")
        XCTAssertEqual(found.secretAccessKey, "secret-ASIASHORT")
        XCTAssertEqual(found.sessionToken, "token-ASIASHORT")

        let second = fakeJWT("second")
        try second.write(toFile: variables["AWS_WEB_IDENTITY_TOKEN_FILE"]!, atomically: true, encoding: .utf8)
        _ = try await source.credentials()

        let requests = server.requests()
        XCTAssertEqual(requests.count, 2)
        let request = requests[0]
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.headers["content-type"], "application/x-www-form-urlencoded; charset=utf-8")
        XCTAssertNil(request.headers["authorization"], "AssumeRoleWithWebIdentity is unsigned")
        let form = Dictionary(uniqueKeysWithValues: request.body.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        })
        XCTAssertEqual(form["Action"], "AssumeRoleWithWebIdentity")
        XCTAssertEqual(form["Version"], "2011-06-15")
        XCTAssertEqual(form["RoleArn"], "arn:aws:iam::123456789012:role/r")
        XCTAssertEqual(form["WebIdentityToken"], first)
        XCTAssertTrue(form["RoleSessionName"]?.hasPrefix("inject-secrets-") == true)
        XCTAssertTrue(request.body.contains("arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr"), request.body)
        XCTAssertTrue(requests[1].body.contains("WebIdentityToken=\(second)"), "the token file is read again on refresh")
    }

    func testErrorResponseNamesCodeAndHidesToken() async throws {
        let token = Canary("jwt")
        try server.setRoutes(["POST /": ["status": 400, "body": Self.error("InvalidIdentityToken", "Token \(token.value) is not a valid JWT")]])
        let home = try AWSHome()
        defer { home.remove() }
        let variables = try webIdentityVariables(home, token: token.value)
        let error = await failure { try await AWSEnvironment(variables: variables).credentialSource(client: HTTPClient()).credentials() }
        let message = error?.message ?? ""
        XCTAssertEqual(error?.kind, .authentication)
        XCTAssertTrue(message.contains("InvalidIdentityToken"), message)
        XCTAssertTrue(message.contains("AWS_WEB_IDENTITY_TOKEN_FILE") && message.contains("role/r"), "names the source: \(message)")
        XCTAssertEqual(token.leaks(in: ["error": message]), [])
        XCTAssertEqual(server.requests().count, 1, "not retried")
    }

    func testIDPCommunicationErrorIsRetried() async throws {
        try server.setRoutes(["POST /": [
            ["status": 400, "body": Self.error("IDPCommunicationError", "try again")],
            ["status": 503, "body": ""],
            ["body": Self.success("AssumeRoleWithWebIdentity", key: "ASIARETRIED", expiresIn: 3600)],
        ]])
        let home = try AWSHome()
        defer { home.remove() }
        let variables = try webIdentityVariables(home, token: fakeJWT("x"))
        let found = try await AWSEnvironment(variables: variables).credentialSource(client: HTTPClient()).credentials()
        XCTAssertEqual(found.accessKeyId, "ASIARETRIED")
        XCTAssertEqual(server.requests().count, 3)
    }

    func testAssumeRoleIsSignedWithTheSourceCredentials() async throws {
        let secret = Canary("source-secret"), token = Canary("source-token")
        try server.setRoutes(["POST /": ["body": Self.success("AssumeRole", key: "ASIAASSUMED", expiresIn: 3600)]])
        let home = try AWSHome(
            config: """
                [profile role]
                role_arn = arn:aws:iam::123456789012:role/ops
                credential_source = Environment
                external_id = ext-123
                duration_seconds = 1800
                role_session_name = ops-session
                """,
            variables: ["AWS_ACCESS_KEY_ID": "AKIDSOURCE", "AWS_SECRET_ACCESS_KEY": secret.value, "AWS_SESSION_TOKEN": token.value,
                        "AWS_REGION": "eu-north-1"])
        defer { home.remove() }
        var variables = home.variables
        variables["AWS_ENDPOINT_URL_STS"] = server.baseURL
        let found = try await AWSEnvironment(variables: variables, profile: "role").credentialSource(client: HTTPClient()).credentials()
        XCTAssertEqual(found.accessKeyId, "ASIAASSUMED")
        let request = try XCTUnwrap(server.requests().last)
        let authorization = request.headers["authorization"] ?? ""
        XCTAssertTrue(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDSOURCE/"), authorization)
        XCTAssertTrue(authorization.contains("/eu-north-1/sts/aws4_request"), authorization)
        XCTAssertTrue(authorization.contains("x-amz-security-token"), "the session token is signed: \(authorization)")
        XCTAssertEqual(request.headers["x-amz-security-token"], token.value)
        XCTAssertNotNil(request.headers["x-amz-date"])
        for part in ["Action=AssumeRole&", "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fops", "RoleSessionName=ops-session",
                     "ExternalId=ext-123", "DurationSeconds=1800"] {
            XCTAssertTrue(request.body.contains(part), "\(part) in \(request.body)")
        }
        XCTAssertEqual(secret.leaks(in: ["headers": "\(request.headers)", "body": request.body]), [])
    }

    func testAssumeRoleRefusalHidesTheSourceSecret() async throws {
        let secret = Canary("refused-secret")
        try server.setRoutes(["POST /": ["status": 403, "body": Self.error("AccessDenied", "User AKIDSOURCE is not authorized; key \(secret.value)")]])
        let home = try AWSHome(
            config: "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/ops\nsource_profile = keys\n",
            credentials: "[keys]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = \(secret.value)\n")
        defer { home.remove() }
        var variables = home.variables
        variables["AWS_ENDPOINT_URL_STS"] = server.baseURL
        let error = await failure { try await AWSEnvironment(variables: variables, profile: "role").credentialSource(client: HTTPClient()).credentials() }
        let message = error?.message ?? ""
        XCTAssertEqual(error?.kind, .accessDenied, "authenticated, not allowed to assume the role: the 403 rule")
        XCTAssertTrue(message.contains("AccessDenied") && message.contains("role/ops") && message.contains("profile 'role'"), message)
        XCTAssertEqual(secret.leaks(in: ["error": message]), [])
    }

    func testRegionalSTSEndpointWithoutConfiguration() {
        let environment = AWSEnvironment(variables: ["HOME": "/nonexistent"])
        XCTAssertEqual(STSClient.make(environment: environment, region: "eu-west-1", client: HTTPClient(), signer: nil).endpoint,
                       "https://sts.eu-west-1.amazonaws.com")
        XCTAssertEqual(STSClient.make(environment: environment, region: "us-east-1", client: HTTPClient(), signer: nil).endpoint,
                       "https://sts.us-east-1.amazonaws.com", "regional even for us-east-1, as botocore")
        XCTAssertEqual(STSClient.make(environment: environment, region: "cn-north-1", client: HTTPClient(), signer: nil).endpoint,
                       "https://sts.cn-north-1.amazonaws.com.cn")
        let fips = AWSEnvironment(variables: ["HOME": "/nonexistent", "AWS_USE_FIPS_ENDPOINT": "true"])
        XCTAssertEqual(STSClient.make(environment: fips, region: "us-east-2", client: HTTPClient(), signer: nil).endpoint,
                       "https://sts-fips.us-east-2.amazonaws.com")
        let global = STSClient.make(environment: environment, region: nil, client: HTTPClient(), signer: nil)
        XCTAssertEqual(global.endpoint, "https://sts.amazonaws.com")
        XCTAssertEqual(global.signingRegion, "us-east-1")
    }

    func testPlainHTTPSTSEndpointOffLoopbackIsRefused() async throws {
        let home = try AWSHome()
        defer { home.remove() }
        var variables = try webIdentityVariables(home, token: fakeJWT("x"))
        variables["AWS_ENDPOINT_URL_STS"] = "http://sts.example.com"
        let error = await failure { try await AWSEnvironment(variables: variables).credentialSource(client: HTTPClient()).credentials() }
        XCTAssertEqual(error?.kind, .configuration)
        XCTAssertTrue(error?.message.contains("HTTPS is required") == true, error?.message ?? "")
    }
}
