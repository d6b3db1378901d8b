import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport

/// fake_secrets_extension.py on a free loopback port: the AWS Parameters and Secrets Lambda Extension's
/// HTTP API, reading from the fixture's moto_server with `identity` as the function's role.
final class SecretsExtensionStandIn {
    let server: LoopbackServer
    /// What the runtime must send as X-Aws-Parameters-Secrets-Token.
    let token: String

    init(moto: MotoFixture, identity: TestIdentity) throws {
        let port = try freePort()
        // An identity without a session (an IAM user) still needs a token to check.
        token = identity.SessionToken ?? "standin-\(UUID().uuidString)"
        server = try LoopbackServer(
            executable: "python3",
            arguments: [MotoFixture.fixtures.appendingPathComponent("fake_secrets_extension.py").path, String(port), moto.moto.baseURL],
            port: port, environment: identity.environment().merging(["STANDIN_TOKEN": token]) { $1 }, startupTimeout: 60)
    }

    func stop() { server.stop() }

    /// The function's environment as Lambda would set it with the extension's layer: the session token
    /// and the extension's port, plus `variables`.
    func functionEnvironment(_ variables: [String: String]) -> [String: String] {
        variables.merging([
            "AWS_SESSION_TOKEN": token, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": String(server.port),
        ]) { $1 }
    }

    /// Requests the stand-in received (the token check included) since the last reset.
    func requests() async throws -> Int {
        let (data, _) = try await URLSession.shared.data(from: URL(string: server.baseURL + "/__standin/stats")!)
        return try JSONDecoder().decode(JSON.self, from: data)["requests"]?.int ?? -1
    }

    func reset() async throws {
        var request = URLRequest(url: URL(string: server.baseURL + "/__standin/reset")!)
        request.httpMethod = "POST"
        _ = try await URLSession.shared.data(for: request)
    }

    /// Everything the stand-in logged, for canary scans.
    var log: String { server.logTail(1 << 20) }
}
