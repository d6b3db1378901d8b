import Foundation
import InjectSecretsKit
import TestSupport

/// fake_key_vault.py on a free loopback port, with its control endpoint.
final class FakeKeyVault: @unchecked Sendable {
    let server: LoopbackServer
    private let http = HTTPClient(timeout: 10)

    var baseURL: String { server.baseURL }

    init() throws {
        let port = try freePort()
        server = try LoopbackServer(executable: "python3", arguments: [Self.scriptPath, "--port", String(port)], port: port)
    }

    static var scriptPath: String {
        if let url = Bundle.module.url(forResource: "fake_key_vault", withExtension: "py") { return url.path }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fake_key_vault.py").path
    }

    func stop() { server.stop() }

    @discardableResult
    func control(_ action: String, _ body: [String: Any] = [:]) async throws -> [String: Any] {
        let response = try await http.send(HTTPRequest(
            method: action == "counters" ? "GET" : "POST", url: URL(string: "\(baseURL)/_control/\(action)")!,
            headers: [("Content-Type", "application/json")],
            body: action == "counters" ? Data() : try JSONSerialization.data(withJSONObject: body)))
        guard response.status == 200 else {
            throw TestSupportError("control \(action) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))\n\(server.logTail())")
        }
        return (try JSONSerialization.jsonObject(with: response.body) as? [String: Any]) ?? [:]
    }

    /// Adds a version with `value` to `name`; returns its 32-hex version id.
    func seed(_ name: String, _ value: String, enabled: Bool = true) async throws -> String {
        let answer = try await control("secret", ["name": name, "value": value, "enabled": enabled])
        return answer["version"] as! String
    }

    struct Counters {
        var raw: [String: Any]
        var requests: Int { int(raw["requests"]) }
        var challenges: Int { int(raw["challenges"]) }
        var valueReads: [String: Int] { (raw["value_reads"] as? [String: Any] ?? [:]).mapValues(int) }
        var listPages: Int { int(raw["list_pages"]) }
        var tokenRequests: [String: Int] { (raw["token_requests"] as? [String: Any] ?? [:]).mapValues(int) }
        var faultsServed: Int { int(raw["faults_served"]) }
        var apiVersions: [String] { (raw["api_versions"] as? [Any] ?? []).compactMap { $0 as? String } }
        var missingAPIVersion: Int { int(raw["missing_api_version"]) }

        private func int(_ value: Any?) -> Int {
            switch value {
            case let value as Int: return value
            case let value as NSNumber: return value.intValue
            default: return -1
            }
        }
    }

    func counters() async throws -> Counters {
        Counters(raw: try await control("counters"))
    }
}
