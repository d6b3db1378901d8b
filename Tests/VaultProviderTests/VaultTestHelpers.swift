import Foundation
import XCTest
@testable import InjectSecretsKit
@testable import InjectSecretsVault
import TestSupport

/// Builds a provider from a manifest snippet, as the core does.
func makeVaultProvider(
    _ yaml: String, environment: [String: String] = [:], baseDirectory: URL? = nil, client: HTTPClient = .shared,
    retry: RetryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.05, timeLimit: 5)
) throws -> VaultProvider {
    let declaration = try providerDeclaration(
        yaml, name: "vault", baseDirectory: baseDirectory ?? URL(fileURLWithPath: NSTemporaryDirectory()),
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
