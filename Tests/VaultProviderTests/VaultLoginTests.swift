import Foundation
import XCTest
@testable import InjectSecretsKit
@testable import InjectSecretsVault
import TestSupport

/// Token, AppRole, JWT (file and GitHub Actions OIDC) and Kubernetes logins against a real OpenBao:
/// one login per run, and the token a login created is revoked at the end of the run.
final class VaultLoginTests: OpenBaoTestCase {
    struct Setup {
        var bao: OpenBao
        var directory: URL
        var signer: JWTSigner
        var fake: FakeIdentityEndpoints
        var roleID: String
        var path: String
        var canary: Canary
    }

    // Written only by the class setUp and tearDown, which XCTest runs before and after the tests, never beside them.
    nonisolated(unsafe) static var setup: Setup?
    static let bearer = "request-token-\(UUID().uuidString)"
    static let audience = "inject-secrets-test"
    static let issuer = "https://issuer.inject-secrets.test"

    override class func configure(_ bao: OpenBao) throws {
        setup = try makeSetup(bao)
    }

    override class func tearDown() {
        if let setup {
            setup.fake.server.stop()
            try? FileManager.default.removeItem(at: setup.directory)
        }
        setup = nil
        super.tearDown()
    }

    static func makeSetup(_ bao: OpenBao) throws -> Setup {
        let directory = try makeTemporaryDirectory("vault-login")
        let signer = try JWTSigner(directory: directory)
        let fake = try FakeIdentityEndpoints(directory: directory, bearer: bearer)
        try bao.writePolicy("reader", #"path "secret/*" { capabilities = ["read"] }"#)

        try bao.cli(["auth", "enable", "approle"])
        try bao.cli(["write", "auth/approle/role/ci", "token_policies=reader"])
        let roleID = try bao.field(["read", "auth/approle/role/ci/role-id"], "role_id")

        try bao.cli(["auth", "enable", "jwt"])
        try bao.cli([
            "write", "auth/jwt/config", "jwt_validation_pubkeys=@\(signer.publicKey.path)", "bound_issuer=\(issuer)",
        ])
        try bao.cli([
            "write", "auth/jwt/role/deploy", "role_type=jwt", "bound_audiences=\(audience)", "user_claim=sub",
            "token_policies=reader",
        ])

        // Kubernetes auth asks the cluster's TokenReview API whether a service-account token is valid;
        // the fake endpoints stand in for the cluster (its CA certificate is required, unused over HTTP).
        let caKey = directory.appendingPathComponent("ca.key"), caCert = directory.appendingPathComponent("ca.crt")
        try runChecked("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey.path, "-out", caCert.path, "-days", "1",
            "-subj", "/CN=fake-kubernetes",
        ])
        try bao.cli(["auth", "enable", "kubernetes"])
        try bao.cli([
            "write", "auth/kubernetes/config", "kubernetes_host=\(fake.baseURL)", "disable_local_ca_jwt=true",
            "kubernetes_ca_cert=@\(caCert.path)", "token_reviewer_jwt=reviewer",
        ])
        try bao.cli([
            "write", "auth/kubernetes/role/app", "bound_service_account_names=app",
            "bound_service_account_namespaces=default", "token_policies=reader",
        ])

        let canary = Canary("login")
        let path = "login/db"
        let result = try bao.cli(["kv", "put", "-mount=secret", path, "password=\(canary.value)"])
        _ = result
        return Setup(bao: bao, directory: directory, signer: signer, fake: fake, roleID: roleID, path: path, canary: canary)
    }

    func fixture() throws -> Setup {
        _ = try server()
        guard let setup = Self.setup else { throw TestSupportError("the login setup did not run") }
        return setup
    }

    /// Fetches two references (so two reads share the login) and checks the canary came back.
    func assertReads(_ provider: VaultProvider, _ setup: Setup, file: StaticString = #filePath, line: UInt = #line) async throws {
        let current = reference("db", setup.path), pinned = reference("db1", setup.path, "1")
        let results = await provider.fetch([current, pinned])
        let fetched = try XCTUnwrap(results[current], file: file, line: line).get()
        XCTAssertEqual(try fields(fetched)["password"] as? String, setup.canary.value, file: file, line: line)
        XCTAssertEqual(try results[pinned]?.get().version, "1", file: file, line: line)
    }

    /// Whether a token is still valid.
    func isValid(_ token: String, _ bao: OpenBao) async throws -> Bool {
        try await bao.api("GET", "auth/token/lookup-self", token: token).status == 200
    }

    func testSuppliedTokenFromFileIsUsedAndNotRevoked() async throws {
        let setup = try fixture()
        let token = try setup.bao.token(policies: ["reader"])
        let home = setup.directory.appendingPathComponent("home-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try Data((token + "\n").utf8).write(to: home.appendingPathComponent(".vault-token"))

        let provider = try makeVaultProvider("{type: vault, address: '\(setup.bao.address)'}", environment: ["HOME": home.path])
        try await assertReads(provider, setup)
        await provider.finish()
        let stillValid = try await isValid(token, setup.bao)
        XCTAssertTrue(stillValid, "a token the pipeline supplied is not ours to revoke")

        // VAULT_TOKEN wins over the file.
        let fromVariable = try makeVaultProvider(
            "{type: vault, address: '\(setup.bao.address)'}", environment: ["HOME": home.path, "VAULT_TOKEN": "bad"])
        let ref = reference("db", setup.path)
        let kind = await fromVariable.fetchOne(ref).failure?.kind
        XCTAssertEqual(kind, .accessDenied)

        let none = try makeVaultProvider("{type: vault, address: '\(setup.bao.address)'}", environment: ["HOME": setup.directory.appendingPathComponent("nohome").path])
        let failure = try expectFailure(await none.fetchOne(ref))
        XCTAssertEqual(failure.kind, .authentication)
        XCTAssertTrue(failure.message.contains("VAULT_TOKEN"), failure.message)
    }

    func testAppRoleLogsInOnceAndRevokesItsTokenAtTheEnd() async throws {
        let setup = try fixture()
        let secretID = try setup.bao.field(["write", "-f", "auth/approle/role/ci/secret-id"], "secret_id")
        let secretIDFile = setup.directory.appendingPathComponent("secret-id-\(UUID().uuidString.prefix(6))")
        try Data(secretID.utf8).write(to: secretIDFile)

        let provider = try makeVaultProvider(
            """
            type: vault
            address: '\(setup.bao.address)'
            auth: {method: approle, role-id-env: CI_ROLE_ID, secret-id-file: \(secretIDFile.lastPathComponent)}
            """,
            environment: ["CI_ROLE_ID": setup.roleID], baseDirectory: setup.directory)
        try await assertReads(provider, setup)
        let token = try await provider.session.token().text
        try await assertReads(provider, setup)
        let sameToken = try await provider.session.token().text
        XCTAssertEqual(token, sameToken, "one login per run")
        let validBefore = try await isValid(token, setup.bao)
        XCTAssertTrue(validBefore)

        let warning = await provider.finishReportingRevocation()
        XCTAssertNil(warning)
        let validAfter = try await isValid(token, setup.bao)
        XCTAssertFalse(validAfter, "the token this run created is revoked at its end")
        await provider.finish()  // twice is harmless
    }

    /// A secret-id file that is a FIFO, or larger than any credential, is refused by name before it is
    /// read: the run neither waits on a writer nor reads the whole file.
    func testASecretIDFileThatIsAFIFOOrHugeIsRefusedUnread() async throws {
        let setup = try fixture()
        let fifo = setup.directory.appendingPathComponent("secret-id-fifo-\(UUID().uuidString.prefix(6))")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        let huge = setup.directory.appendingPathComponent("secret-id-huge-\(UUID().uuidString.prefix(6))")
        XCTAssertTrue(FileManager.default.createFile(atPath: huge.path, contents: nil))
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: 2 << 30)  // sparse: 2 GiB that cost no disk
        try handle.close()
        for (file, expected) in [(fifo, "FIFO"), (huge, "more than the limit")] {
            let provider = try makeVaultProvider(
                """
                type: vault
                address: '\(setup.bao.address)'
                auth: {method: approle, role-id-env: CI_ROLE_ID, secret-id-file: \(file.lastPathComponent)}
                """,
                environment: ["CI_ROLE_ID": setup.roleID], baseDirectory: setup.directory)
            let failure = try expectFailure(await provider.fetchOne(reference("db", setup.path)))
            XCTAssertEqual(failure.kind, .authentication)
            XCTAssertTrue(failure.message.contains(file.path) && failure.message.contains(expected), failure.message)
            await provider.finish()
        }
    }

    func testAppRoleWithABadSecretIDFailsToAuthenticate() async throws {
        let setup = try fixture()
        let badSecretID = "bad-secret-id-\(UUID().uuidString)"
        let provider = try makeVaultProvider(
            "{type: vault, address: '\(setup.bao.address)', auth: {method: approle, role-id-env: R, secret-id-env: S}}",
            environment: ["R": setup.roleID, "S": badSecretID])
        let refs = [reference("db", setup.path), reference("db1", setup.path, "1")]
        let results = await provider.fetch(refs)
        for ref in refs {
            let failure = try XCTUnwrap(results[ref]?.failure)
            XCTAssertEqual(failure.kind, .authentication)
            XCTAssertTrue(failure.message.contains("invalid role or secret ID"), failure.message)
            XCTAssertTrue(failure.message.contains("approle"), failure.message)
            XCTAssertFalse(failure.message.contains(badSecretID))
            XCTAssertFalse(failure.message.contains(setup.canary.value))
        }

        let unset = try makeVaultProvider(
            "{type: vault, address: '\(setup.bao.address)', auth: {method: approle, role-id-env: R, secret-id-env: S}}",
            environment: ["R": setup.roleID])
        let failure = try expectFailure(await unset.fetchOne(refs[0]))
        XCTAssertEqual(failure.kind, .authentication)
        XCTAssertTrue(failure.message.contains("environment variable S"), failure.message)
    }

    func claims(audience: String = VaultLoginTests.audience) -> [String: Any] {
        let now = Int(Date().timeIntervalSince1970)
        return [
            "iss": Self.issuer, "sub": "repo:example/app:ref:refs/heads/main", "aud": audience,
            "iat": now, "nbf": now - 5, "exp": now + 300,
        ]
    }

    func testJWTLoginFromAFile() async throws {
        let setup = try fixture()
        let jwt = try setup.signer.sign(claims())
        let jwtFile = setup.directory.appendingPathComponent("ci-\(UUID().uuidString.prefix(6)).jwt")
        try Data(jwt.utf8).write(to: jwtFile)
        let provider = try makeVaultProvider(
            "{type: vault, address: '\(setup.bao.address)', auth: {method: jwt, role: deploy, jwt-file: '\(jwtFile.path)'}}")
        try await assertReads(provider, setup)
        let token = try await provider.session.token().text
        let asTheCoreSeesIt: any SecretProvider = provider
        await asTheCoreSeesIt.finish()
        let valid = try await isValid(token, setup.bao)
        XCTAssertFalse(valid, "finish() through the protocol revokes too")

        // A JWT for another audience is refused with Vault's reason, and the JWT is not printed.
        let wrong = try setup.signer.sign(claims(audience: "someone-else"))
        let refused = try makeVaultProvider(
            "{type: vault, address: '\(setup.bao.address)', auth: {method: jwt, role: deploy, jwt-env: CI_JWT}}",
            environment: ["CI_JWT": wrong])
        let ref = reference("db", setup.path)
        let failure = try expectFailure(await refused.fetchOne(ref))
        XCTAssertEqual(failure.kind, .authentication)
        XCTAssertTrue(failure.message.contains("aud"), failure.message)
        XCTAssertFalse(failure.message.contains(wrong))
    }

    func testJWTLoginWithTheGitHubActionsOIDCToken() async throws {
        let setup = try fixture()
        try Data(try setup.signer.sign(claims()).utf8).write(to: setup.fake.jwtFile)
        let before = setup.fake.requests.count
        let provider = try makeVaultProvider(
            "{type: vault, address: '\(setup.bao.address)', auth: {method: jwt, role: deploy, audience: \(Self.audience)}}",
            environment: [
                "ACTIONS_ID_TOKEN_REQUEST_URL": "\(setup.fake.baseURL)/_apis/token?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": Self.bearer,
            ])
        try await assertReads(provider, setup)
        try await assertReads(provider, setup)
        let requests = Array(setup.fake.requests.dropFirst(before))
        XCTAssertEqual(requests, ["GET /_apis/token?api-version=2.0&audience=inject-secrets-test"], "one token request, audience appended with &")
        await provider.finish()

        let outside = try makeVaultProvider(
            "{type: vault, address: '\(setup.bao.address)', auth: {method: jwt, role: deploy}}")
        let ref = reference("db", setup.path)
        let failure = try expectFailure(await outside.fetchOne(ref))
        XCTAssertEqual(failure.kind, .authentication)
        XCTAssertTrue(failure.message.contains("id-token: write"), failure.message)
    }

    func testKubernetesServiceAccountLogin() async throws {
        let setup = try fixture()
        let serviceAccountToken = try setup.signer.sign([
            "iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:default:app",
            "kubernetes.io/serviceaccount/namespace": "default",
            "kubernetes.io/serviceaccount/service-account.name": "app",
            "kubernetes.io/serviceaccount/service-account.uid": "uid-app",
        ])
        let tokenFile = setup.directory.appendingPathComponent("sa-token-\(UUID().uuidString.prefix(6))")
        try Data(serviceAccountToken.utf8).write(to: tokenFile)
        let before = setup.fake.requests.count
        let provider = try makeVaultProvider(
            "{type: vault, address: '\(setup.bao.address)', auth: {method: kubernetes, role: app, token-file: '\(tokenFile.path)'}}")
        try await assertReads(provider, setup)
        XCTAssertEqual(
            Array(setup.fake.requests.dropFirst(before)), ["POST /apis/authentication.k8s.io/v1/tokenreviews"],
            "OpenBao checked the service-account token with the (fake) cluster once")
        let token = try await provider.session.token().text
        await provider.finish()
        let valid = try await isValid(token, setup.bao)
        XCTAssertFalse(valid)
    }

    func testAuthSettingsAreCheckedOffline() throws {
        func error(_ auth: String) -> String {
            do {
                _ = try makeVaultProvider("{type: vault, address: 'https://vault.example.com', auth: \(auth)}")
                return ""
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(error("{method: approle, role-id: abc, secret-id-env: S}").contains("must not be written in the manifest"))
        XCTAssertTrue(error("{method: approle, role-id-env: R}").contains("secret-id-env"))
        XCTAssertTrue(error("{method: approle, role-id-env: R, role-id-file: f, secret-id-env: S}").contains("not both"))
        XCTAssertTrue(error("{method: aprole}").contains("did you mean 'approle'"))
        XCTAssertTrue(error("{method: jwt}").contains("needs 'role'"))
        XCTAssertTrue(error("{method: jwt, role: r, jwt-file: f, audience: a}").contains("audience"))
        XCTAssertTrue(error("{method: kubernetes, role: r, tokn-file: f}").contains("did you mean 'token-file'"))
        XCTAssertTrue(error("{method: token, token-env: MY_TOKEN}").isEmpty)
        XCTAssertTrue(error("{method: approle, role-id-env: R}").contains("inject-secrets.yaml:1:"), "errors have their place")
        XCTAssertNoThrow(try makeVaultProvider("{type: vault, address: 'https://v.example.com', auth: {method: kubernetes, role: app}}"))
    }
}
