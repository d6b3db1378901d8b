import Foundation
import TestSupport
import XCTest

/// A small HTTP server on loopback (python3's http.server) that answers from a routes file the test
/// writes, and logs every request (method, path, headers, body) for the test to assert on.
///
/// A route is `"METHOD /path": {"status": 200, "body": "..." | {...}, "delay": seconds}`, or a list of
/// such answers given in turn (the last repeats).
final class ScriptedServer {
    let server: LoopbackServer
    let directory: URL
    var routesURL: URL { directory.appendingPathComponent("routes.json") }
    var logURL: URL { directory.appendingPathComponent("requests.jsonl") }
    var baseURL: String { server.baseURL }

    static let script = #"""
        import json, sys, time, threading, http.server
        port, routes_path, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        counts = {}
        lock = threading.Lock()
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                path = self.path.split("?")[0]
                key = self.command + " " + path
                with lock:
                    with open(log_path, "a") as log:
                        log.write(json.dumps({"method": self.command, "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}) + "\n")
                    with open(routes_path) as f:
                        routes = json.load(f)
                    route = routes.get(key) or routes.get("* " + path) or {"status": 404, "body": "no route"}
                    if isinstance(route, list):
                        n = counts.get(key, 0)
                        counts[key] = n + 1
                        route = route[min(n, len(route) - 1)]
                time.sleep(route.get("delay", 0))
                data = route.get("body", "")
                if not isinstance(data, str):
                    data = json.dumps(data)
                data = data.encode()
                try:
                    self.send_response(route.get("status", 200))
                    self.send_header("Content-Type", route.get("type", "text/plain"))
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
            do_GET = do_PUT = do_POST = answer
            def log_message(self, *args):
                pass
        http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#

    init(routes: [String: Any]) throws {
        guard let python = which("python3") else {
            let reason = try missingServer("python3 (for the scripted metadata server)", install: "apt-get install python3")
            throw XCTSkip(reason)
        }
        directory = try makeTemporaryDirectory("scripted")
        let scriptURL = directory.appendingPathComponent("server.py")
        try Self.script.write(to: scriptURL, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("requests.jsonl").path, contents: nil)
        try JSONSerialization.data(withJSONObject: routes).write(to: directory.appendingPathComponent("routes.json"))
        let port = try freePort()
        server = try LoopbackServer(
            executable: python,
            arguments: [scriptURL.path, String(port), directory.appendingPathComponent("routes.json").path,
                        directory.appendingPathComponent("requests.jsonl").path],
            port: port)
    }

    func setRoutes(_ routes: [String: Any]) throws {
        try JSONSerialization.data(withJSONObject: routes).write(to: routesURL, options: .atomic)
    }

    struct Request {
        var method: String
        var path: String
        var headers: [String: String]
        var body: String
    }

    func requests() -> [Request] {
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(
                method: json["method"] as? String ?? "", path: json["path"] as? String ?? "",
                headers: json["headers"] as? [String: String] ?? [:], body: json["body"] as? String ?? "")
        }
    }

    func clearLog() throws { try Data().write(to: logURL) }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// The JSON that container endpoints and IMDS return.
func credentialsJSON(accessKeyId: String, secret: String, token: String, expiresIn: TimeInterval = 6 * 3600) -> [String: Any] {
    let formatter = ISO8601DateFormatter()
    return [
        "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": accessKeyId, "SecretAccessKey": secret, "Token": token,
        "Expiration": formatter.string(from: Date().addingTimeInterval(expiresIn)), "LastUpdated": formatter.string(from: Date()),
    ]
}
