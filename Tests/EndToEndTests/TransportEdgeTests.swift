import Foundation
import TestSupport
import XCTest
@testable import InjectSecretsKit

/// The transport at its edges, against real parts: tinyproxy (Debian's) for the proxy rules, a loopback
/// TLS server with a certificate from a throwaway CA made with `openssl` for the CA variables, and
/// hostile loopback stand-ins (huge, endless, trickling, always-unavailable answers) for the bounds.
final class TransportEdgeTests: XCTestCase {
    /// One script for every stand-in: `MODE PORT LOG [CERT KEY]`. `vault` answers KV v2 reads with the
    /// value in $CANARY_VALUE and logs each request line and its X-Vault-Token; `notfound` answers 404 in
    /// the AWS and Azure shapes; `container` answers as the ECS credential endpoint; the others are hostile.
    static let script = #"""
import http.server, json, os, socketserver, ssl, sys, time
mode, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def note(self):
        token = self.headers.get("X-Vault-Token") or self.headers.get("Authorization")
        with open(log, "a") as f: f.write("%s %s token=%s\n" % (self.command, self.path, token))
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_POST(self): self.do_GET()
    def do_GET(self):
        self.note()
        if "Content-Length" in self.headers: self.rfile.read(int(self.headers["Content-Length"]))
        try:
            if mode == "vault":
                self.answer(200, {"data": {"data": {"password": os.environ["CANARY_VALUE"]}, "metadata": {"version": 3,
                    "created_time": "2026-11-29T00:00:00Z", "deletion_time": "", "destroyed": False}}})
            elif mode == "container":
                self.answer(200, {"AccessKeyId": "ASIACONTAINER", "SecretAccessKey": os.environ["CANARY_VALUE"],
                    "Token": "session", "Expiration": "2099-01-01T00:00:00Z"})
            elif mode == "notfound":
                self.answer(404, {"__type": "ResourceNotFoundException", "message": "no such secret",
                    "error": {"code": "SecretNotFound", "message": "no such secret"}})
            elif mode == "unavailable":
                data = json.dumps({"errors": ["Vault is sealed"]}).encode()
                self.send_response(503)
                self.send_header("Retry-After", "2")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif mode in ("huge", "chunked"):
                self.send_response(200)
                if mode == "huge": self.send_header("Content-Length", str(1 << 30))
                else: self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                block = b"x" * 65536
                while True:
                    self.wfile.write(b"10000\r\n" + block + b"\r\n" if mode == "chunked" else block)
            elif mode == "trickle":
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.flush()
                while True:
                    self.wfile.write(b"x"); self.wfile.flush(); time.sleep(1)
        except (BrokenPipeError, ConnectionResetError):
            pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
server = Server(("127.0.0.1", port), Handler)
if len(sys.argv) > 5:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[4], sys.argv[5])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""#

    struct StandIn {
        var server: LoopbackServer
        var log: URL
        var requests: [String] { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
    }

    var directory: URL!
    var stopping: [() -> Void] = []

    override func setUpWithError() throws {
        for tool in ["python3", "openssl"] where which(tool) == nil {
            let message = try missingServer(tool, install: "apt-get install \(tool)")
            throw XCTSkip(message)
        }
        directory = try makeTemporaryDirectory("transport")
    }

    override func tearDown() {
        for stop in stopping.reversed() { stop() }
        if let directory { try? FileManager.default.removeItem(at: directory) }
        super.tearDown()
    }

    func standIn(_ mode: String, tls: Bool = false, canary: String = "") throws -> StandIn {
        let script = directory.appendingPathComponent("standin.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let port = try freePort()
        let log = directory.appendingPathComponent("\(mode)-\(port).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        var arguments = [script.path, mode, String(port), log.path]
        if tls {
            let pki = try certificates()
            arguments += [pki.certificate.path, pki.key.path]
        }
        let server = try LoopbackServer(executable: "python3", arguments: arguments, port: port, environment: ["CANARY_VALUE": canary])
        stopping.append { server.stop() }
        return StandIn(server: server, log: log)
    }

    /// A throwaway CA and a server certificate it signed, for 127.0.0.1, ::ffff:127.0.0.1 and localhost.
    func certificates() throws -> (ca: URL, certificate: URL, key: URL) {
        let ca = directory.appendingPathComponent("ca.pem"), certificate = directory.appendingPathComponent("server.pem")
        let key = directory.appendingPathComponent("server.key")
        if FileManager.default.fileExists(atPath: certificate.path) { return (ca, certificate, key) }
        let caKey = directory.appendingPathComponent("ca.key"), request = directory.appendingPathComponent("server.csr")
        let extensions = directory.appendingPathComponent("server.ext")
        try "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::ffff:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(to: extensions, atomically: true, encoding: .utf8)
        for arguments in [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey.path, "-out", ca.path, "-days", "2", "-subj", "/CN=inject-secrets throwaway test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key.path, "-out", request.path, "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", request.path, "-CA", ca.path, "-CAkey", caKey.path, "-CAcreateserial", "-out", certificate.path,
             "-days", "2", "-extfile", extensions.path],
        ] {
            let result = try runProcess(try resolveExecutable("openssl"), arguments, environment: ProcessInfo.processInfo.environment, currentDirectory: directory, timeout: 60)
            guard result.status == 0 else { throw TestSupportError("openssl \(arguments[0]) failed: \(result.stderr)") }
        }
        return (ca, certificate, key)
    }

    /// tinyproxy on a free loopback port, allowing CONNECT to `connectPort`, logging every request.
    func tinyproxy(connectPort: Int) throws -> (port: Int, log: URL) {
        guard which("tinyproxy") != nil else {
            let message = try missingServer("tinyproxy", install: "apt-get install tinyproxy (scripts/bootstrap)")
            throw XCTSkip(message)
        }
        let port = try freePort()
        let log = directory.appendingPathComponent("tinyproxy.log")
        let configuration = directory.appendingPathComponent("tinyproxy.conf")
        try """
            Port \(port)
            Listen 127.0.0.1
            Timeout 30
            LogFile "\(log.path)"
            LogLevel Info
            MaxClients 20
            Allow 127.0.0.1
            ConnectPort \(connectPort)

            """.write(to: configuration, atomically: true, encoding: .utf8)
        let proxy = try LoopbackServer(executable: "tinyproxy", arguments: ["-d", "-c", configuration.path], port: port)
        stopping.append { proxy.stop() }
        return (port, log)
    }

    /// A manifest with one store `store` (its flow mapping's inside) and one secret `a` (id `app/a`)
    /// read by one function as `A`.
    static func manifest(_ store: String, value: String = "${secrets.a.password}", id: String = "app/a") -> String {
        """
        version: 1
        providers:
          store: { \(store) }
        secrets:
          a: { provider: store, id: \(id) }
        functions:
          fn:
            env: { A: "\(value)" }

        """
    }

    func read(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

    /// Sends a GET and waits for it on a blocking test, whose run loop keeps `Process` reaping the
    /// stand-ins (an async test would leave their exits unnoticed until `stop()` times out).
    func get(_ url: String, client: HTTPClient, headers: [(String, String)] = []) throws -> HTTPResponse {
        let request = HTTPRequest(method: "GET", url: URL(string: url)!, headers: headers)
        let box = Outcome()
        let done = expectation(description: "GET \(url)")
        Task {
            do { box.result = .success(try await client.send(request)) } catch { box.result = .failure(error) }
            done.fulfill()
        }
        wait(for: [done], timeout: 120)
        return try box.result!.get()
    }

    func failure(_ body: () throws -> HTTPResponse) -> HTTPTransportError? {
        do {
            let response = try body()
            XCTFail("answered HTTP \(response.status)")
            return nil
        } catch let error as HTTPTransportError {
            return error
        } catch {
            XCTFail("\(error)")
            return nil
        }
    }

    // MARK: - proxies

    /// HTTPS goes through the proxy by CONNECT. The target is `[::ffff:127.0.0.1]`: loopback to the
    /// kernel, but not a name the never-proxy rule exempts, so the proxy (which may only reach loopback
    /// here) is really used.
    func testHTTPSGoesThroughTheProxyByCONNECT() throws {
        let server = try standIn("vault", tls: true, canary: "v")
        let proxy = try tinyproxy(connectPort: server.server.port)
        let client = HTTPClient(
            trust: TLSTrust(caFile: try certificates().ca.path), proxyEnvironment: ["HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)"])
        let token = Canary("proxied-token").value
        let response = try get(
            "https://[::ffff:127.0.0.1]:\(server.server.port)/v1/secret/data/app", client: client, headers: [("X-Vault-Token", token)])
        XCTAssertEqual(response.status, 200)
        XCTAssertTrue(read(proxy.log).contains("): CONNECT [::ffff:127.0.0.1]:\(server.server.port) "), read(proxy.log))
        XCTAssertFalse(read(proxy.log).contains(token), "the tunnel carries TLS: the proxy never sees the token")
        XCTAssertEqual(server.requests.count, 1)
    }

    /// With every proxy variable set, plain HTTP to loopback and HTTPS to loopback go direct: the proxy
    /// sees nothing, the server gets the token. Through the binary, as a user runs it.
    func testPlainHTTPAndLoopbackAreNeverProxiedWhateverTheVariablesSay() throws {
        let value = Canary("vault-value").value, token = Canary("vault-token").value
        let server = try standIn("vault", canary: value)
        let tlsServer = try standIn("vault", tls: true, canary: value)
        let proxy = try tinyproxy(connectPort: tlsServer.server.port)
        let proxyURL = "http://127.0.0.1:\(proxy.port)"
        let workspace = try CLIWorkspace("proxy-bypass")
        _ = workspace.canary("unused")
        try workspace.write([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  plain: { type: vault, address: "\(server.server.baseURL)" }
                  tls: { type: vault, address: "https://127.0.0.1:\(tlsServer.server.port)", ca-file: ca.pem }
                secrets:
                  a: { provider: plain, id: app/a }
                  b: { provider: tls, id: app/b }
                functions:
                  fn:
                    env: { A: "${secrets.a.password}", B: "${secrets.b.password}" }

                """,
            ".gitignore": "/.build/\n",
        ])
        try FileManager.default.copyItem(at: try certificates().ca, to: workspace.url("ca.pem"))
        let result = try workspace.run(["render"], environment: [
            "VAULT_TOKEN": token, "http_proxy": proxyURL, "HTTP_PROXY": proxyURL, "https_proxy": proxyURL,
            "HTTPS_PROXY": proxyURL, "ALL_PROXY": proxyURL, "all_proxy": proxyURL, "NO_PROXY": "", "no_proxy": "",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(server.requests, ["GET /v1/secret/data/app/a token=\(token)"])
        XCTAssertEqual(tlsServer.requests, ["GET /v1/secret/data/app/b token=\(token)"])
        XCTAssertFalse(read(proxy.log).contains("Request (file descriptor"), read(proxy.log))
        XCTAssertFalse(read(proxy.log).contains(token))
        XCTAssertFalse(result.stderr.contains(token) || result.stdout.contains(token))
    }

    /// The AWS container credential endpoint (plain HTTP, loopback here as 169.254.170.2 is in ECS) gets
    /// its authorization token directly, with every proxy variable set: the proxy sees nothing.
    func testContainerCredentialsAreNeverProxied() throws {
        let secretKey = Canary("container-secret").value, token = Canary("container-token").value
        let container = try standIn("container", canary: secretKey)
        let store = try standIn("notfound")
        let proxy = try tinyproxy(connectPort: store.server.port)
        let proxyURL = "http://127.0.0.1:\(proxy.port)"
        let workspace = try CLIWorkspace("container-bypass")
        try workspace.write([
            "inject-secrets.yaml": Self.manifest(
                "type: aws-secrets-manager, region: us-east-1, endpoint: \"\(store.server.baseURL)\"", value: "${secrets.a}"),
        ])
        let result = try workspace.run(["render"], environment: [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": container.server.baseURL + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "", "AWS_CA_BUNDLE": "",
            "AWS_CONFIG_FILE": workspace.url("no-config").path, "AWS_SHARED_CREDENTIALS_FILE": workspace.url("no-credentials").path,
            "http_proxy": proxyURL, "HTTP_PROXY": proxyURL, "ALL_PROXY": proxyURL, "all_proxy": proxyURL, "HTTPS_PROXY": proxyURL,
        ])
        XCTAssertTrue(result.stderr.contains("ResourceNotFoundException"), "signed with the container's keys: \(result.stderr)")
        XCTAssertEqual(container.requests, ["GET /creds token=\(token)"])
        XCTAssertFalse(read(proxy.log).contains("Request (file descriptor"), read(proxy.log))
        XCTAssertFalse(read(proxy.log).contains(token))
        XCTAssertFalse(result.stderr.contains(token) || result.stderr.contains(secretKey), result.stderr)
    }

    func testNoProxyExemptsAHost() throws {
        let server = try standIn("vault", tls: true, canary: "v")
        let proxy = try tinyproxy(connectPort: server.server.port)
        let client = HTTPClient(
            trust: TLSTrust(caFile: try certificates().ca.path),
            proxyEnvironment: ["HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)", "no_proxy": "vault.example.com, ::ffff:127.0.0.1"])
        let response = try get("https://[::ffff:127.0.0.1]:\(server.server.port)/v1/secret/data/app", client: client)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(server.requests.count, 1)
        XCTAssertFalse(read(proxy.log).contains("Request (file descriptor"), read(proxy.log))
    }

    /// A proxy that cannot be reached, or refuses the tunnel, is named by host:port and variable only.
    func testProxyCredentialsAreNeverPrinted() throws {
        let server = try standIn("vault", tls: true, canary: "v")
        let password = Canary("proxy-password").value
        let closed = try freePort()
        let client = HTTPClient(
            trust: TLSTrust(caFile: try certificates().ca.path),
            proxyEnvironment: ["HTTPS_PROXY": "http://alice:\(password)@127.0.0.1:\(closed)"])
        let error = failure { try self.get("https://[::ffff:127.0.0.1]:\(server.server.port)/", client: client) }
        XCTAssertEqual(error?.kind, .proxy)
        XCTAssertTrue(error?.description.contains("127.0.0.1:\(closed)") == true, "\(String(describing: error))")
        XCTAssertTrue(error?.description.contains("HTTPS_PROXY") == true, "\(String(describing: error))")

        // A tinyproxy that refuses CONNECT to this port (not in its ConnectPort list), through the binary.
        let proxy = try tinyproxy(connectPort: 1)
        let workspace = try CLIWorkspace("proxy-credentials")
        try workspace.write([
            "inject-secrets.yaml": Self.manifest("type: vault, address: \"https://[::ffff:127.0.0.1]:\(server.server.port)\", ca-file: ca.pem")
        ])
        try FileManager.default.copyItem(at: try certificates().ca, to: workspace.url("ca.pem"))
        let result = try workspace.run(["render"], environment: [
            "VAULT_TOKEN": "t", "HTTPS_PROXY": "http://alice:\(password)@127.0.0.1:\(proxy.port)",
        ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("proxy 127.0.0.1:\(proxy.port)"), result.stderr)
        XCTAssertFalse(result.stderr.contains(password) || result.stdout.contains(password), result.stderr)
        XCTAssertFalse(result.stderr.contains("alice"), result.stderr)
        XCTAssertTrue(server.requests.isEmpty)
    }

    // MARK: - private CAs

    func testVaultTrustsAPrivateCAFromVAULT_CACERTOrCaFileAndOnlyThen() throws {
        let value = Canary("tls-value").value
        let server = try standIn("vault", tls: true, canary: value)
        let workspace = try CLIWorkspace("vault-ca")
        _ = workspace.canary("unused")
        func manifest(_ extra: String) -> String {
            Self.manifest("type: vault, address: \"https://127.0.0.1:\(server.server.port)\"\(extra)")
        }
        try workspace.write(["inject-secrets.yaml": manifest(""), ".gitignore": "/.build/\n"])
        let refused = try workspace.run(["render"], environment: ["VAULT_TOKEN": "t"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("not trusted by the system's certificate authorities"), refused.stderr)
        XCTAssertTrue(server.requests.isEmpty, "nothing was sent over an unverified connection")

        let ca = try certificates().ca
        let trusted = try workspace.run(["render"], environment: ["VAULT_TOKEN": "t", "VAULT_CACERT": ca.path])
        XCTAssertEqual(trusted.status, 0, trusted.stderr)
        XCTAssertEqual(server.requests.count, 1)

        try FileManager.default.createDirectory(at: workspace.url("certs"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: ca, to: workspace.url("certs/ca.pem"))
        try workspace.write(["inject-secrets.yaml": manifest(", ca-file: certs/ca.pem")])
        let fromManifest = try workspace.run(["render"], environment: ["VAULT_TOKEN": "t", "VAULT_CACERT": "/nonexistent/ignored.pem"])
        XCTAssertEqual(fromManifest.status, 0, "ca-file is relative to the manifest and wins over VAULT_CACERT: \(fromManifest.stderr)")

        try workspace.write(["inject-secrets.yaml": manifest(", ca-file: certs/missing.pem")])
        let missing = try workspace.run(["render"], environment: ["VAULT_TOKEN": "t"])
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("inject-secrets.yaml:3:"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("certs/missing.pem' does not exist"), missing.stderr)

        try workspace.write(["inject-secrets.yaml": manifest("")])
        let badVariable = try workspace.run(["render"], environment: ["VAULT_TOKEN": "t", "VAULT_CACERT": workspace.url("nope.pem").path])
        XCTAssertNotEqual(badVariable.status, 0)
        XCTAssertTrue(badVariable.stderr.contains("VAULT_CACERT: the CA bundle"), badVariable.stderr)
        XCTAssertEqual(server.requests.count, 2)
    }

    func testAWSTrustsAWS_CA_BUNDLEAndTheProfilesCaBundle() throws {
        let server = try standIn("notfound", tls: true)
        let workspace = try CLIWorkspace("aws-ca")
        try workspace.write([
            "inject-secrets.yaml": Self.manifest(
                "type: aws-secrets-manager, region: us-east-1, endpoint: \"https://127.0.0.1:\(server.server.port)\"", value: "${secrets.a}")
        ])
        let ca = try certificates().ca
        try "[default]\nca_bundle = \(ca.path)\n".write(to: workspace.url("aws-config"), atomically: true, encoding: .utf8)
        let base = [
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": Canary("aws-secret").value,
            "AWS_CONFIG_FILE": workspace.url("no-config").path, "AWS_SHARED_CREDENTIALS_FILE": workspace.url("no-credentials").path,
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CA_BUNDLE": "",
        ]
        let refused = try workspace.run(["render"], environment: base)
        XCTAssertTrue(refused.stderr.contains("not trusted"), refused.stderr)
        XCTAssertTrue(server.requests.isEmpty)

        let trusted = try workspace.run(["render"], environment: base.merging(["AWS_CA_BUNDLE": ca.path]) { $1 })
        XCTAssertTrue(trusted.stderr.contains("ResourceNotFoundException"), trusted.stderr)
        XCTAssertFalse(trusted.stderr.contains("not trusted"), trusted.stderr)
        let afterVariable = server.requests.count
        XCTAssertGreaterThan(afterVariable, 0)

        let profile = try workspace.run(["render"], environment: base.merging(["AWS_CONFIG_FILE": workspace.url("aws-config").path]) { $1 })
        XCTAssertTrue(profile.stderr.contains("ResourceNotFoundException"), profile.stderr)
        XCTAssertGreaterThan(server.requests.count, afterVariable)
    }

    func testAzureTrustsREQUESTS_CA_BUNDLE() throws {
        let server = try standIn("notfound", tls: true)
        let workspace = try CLIWorkspace("azure-ca")
        try workspace.write([
            "inject-secrets.yaml": Self.manifest(
                "type: azure-key-vault, vault-url: \"https://127.0.0.1:\(server.server.port)\"", value: "${secrets.a}", id: "app-a")
        ])
        let base = ["AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s", "REQUESTS_CA_BUNDLE": ""]
        let refused = try workspace.run(["render"], environment: base)
        XCTAssertTrue(refused.stderr.contains("not trusted"), refused.stderr)
        XCTAssertTrue(server.requests.isEmpty)
        let trusted = try workspace.run(["render"], environment: base.merging(["REQUESTS_CA_BUNDLE": try certificates().ca.path]) { $1 })
        XCTAssertNotEqual(trusted.status, 0)
        XCTAssertFalse(trusted.stderr.contains("not trusted"), trusted.stderr)
        XCTAssertTrue(server.requests.first?.hasPrefix("GET /secrets/app-a") == true, "\(server.requests)")
    }

    // MARK: - bounds

    /// An answer over the cap is refused as it arrives, advertised or chunked, without buffering it.
    func testAnswersOverTheCapAreRefusedFastWithoutBuffering() throws {
        for mode in ["huge", "chunked"] {
            let server = try standIn(mode)
            let before = maximumResidentBytes()
            let started = Date()
            let error = failure { try self.get("\(server.server.baseURL)/v1/secret/data/app", client: HTTPClient()) }
            XCTAssertEqual(error?.kind, .tooLarge, mode)
            XCTAssertTrue(error?.description.contains("larger than the 4 MiB limit") == true, "\(String(describing: error))")
            XCTAssertLessThan(Date().timeIntervalSince(started), 20, mode)
            XCTAssertLessThan(maximumResidentBytes() - before, 64 << 20, "\(mode): memory stays near the cap")
        }
    }

    func testATrickleFailsWithinSecondsAndARetryNeverOutlivesTimeout() throws {
        let trickle = try standIn("trickle")
        let workspace = try CLIWorkspace("bounds")
        func manifest(_ address: String) -> String { Self.manifest("type: vault, address: \"\(address)\"") }
        try workspace.write(["inject-secrets.yaml": manifest(trickle.server.baseURL)])
        // One attempt: the stall floor ends it long before its 30 s timeout.
        var started = Date()
        let stall = failure { try self.get("\(trickle.server.baseURL)/v1/secret/data/app/a", client: HTTPClient(timeout: 30)) }
        XCTAssertEqual(stall?.kind, .timedOut)
        XCTAssertTrue(stall?.description.contains("stalled: the answer came slower than 1024 bytes a second for 10 s") == true, "\(String(describing: stall))")
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)

        // A run: stalled attempts are retried until --timeout, never past it.
        started = Date()
        let stalled = try workspace.run(["render", "--timeout", "12"], environment: ["VAULT_TOKEN": "t"])
        XCTAssertNotEqual(stalled.status, 0)
        XCTAssertTrue(stalled.stderr.contains("(after 2 attempts)"), stalled.stderr)
        XCTAssertTrue(stalled.stderr.contains("--timeout of 12 s ran out"), stalled.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "a 1-byte-a-second answer cannot hold the run")

        let sealed = try standIn("unavailable")
        try workspace.write(["inject-secrets.yaml": manifest(sealed.server.baseURL)])
        started = Date()
        // Vault's policy alone would make 5 attempts 2 s apart (Retry-After: 2), 8 s in all: --timeout 5
        // allows the attempts at 0, 2 and 4 s and no sleep past 5 s.
        let timedOut = try workspace.run(["render", "--timeout", "5"], environment: ["VAULT_TOKEN": "t"])
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertNotEqual(timedOut.status, 0)
        XCTAssertTrue(timedOut.stderr.contains("--timeout of 5 s ran out"), timedOut.stderr)
        XCTAssertLessThan(elapsed, 7, "the retries stop at --timeout")
        XCTAssertEqual(sealed.requests.count, 3, "retried until then: \(sealed.requests)")
    }

    /// Cancelling the task (as a signal handler does) ends its transfer at once, not at the stall floor.
    func testACancelledRequestEndsAtOnce() throws {
        let trickle = try standIn("trickle")
        let box = Outcome()
        let done = expectation(description: "cancelled")
        let request = HTTPRequest(method: "GET", url: URL(string: "\(trickle.server.baseURL)/v1/secret/data/app")!)
        let task = Task {
            do { box.result = .success(try await HTTPClient().send(request)) } catch { box.result = .failure(error) }
            done.fulfill()
        }
        while trickle.requests.isEmpty { usleep(20_000) }
        let cancelled = Date()
        task.cancel()
        wait(for: [done], timeout: 5)
        XCTAssertLessThan(Date().timeIntervalSince(cancelled), 2)
        guard case .failure(let error)? = box.result else { return XCTFail("\(String(describing: box.result))") }
        XCTAssertTrue(error is CancellationError, "\(error)")
    }

    func testTimeoutMustBePositive() throws {
        let workspace = try CLIWorkspace("timeout-option")
        try workspace.write(["inject-secrets.yaml": "version: 1\nfunctions: {}\n"])
        let result = try workspace.run(["render", "--timeout", "0"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--timeout must be a positive number of seconds"), result.stderr)
    }
}

private final class Outcome: @unchecked Sendable {
    var result: Result<HTTPResponse, Error>?
}

/// The process's peak resident size so far, in bytes (Linux reports KiB, macOS bytes).
private func maximumResidentBytes() -> Int {
    var usage = rusage()
    #if os(macOS)
    getrusage(RUSAGE_SELF, &usage)
    return Int(usage.ru_maxrss)
    #else
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
    #endif
}
