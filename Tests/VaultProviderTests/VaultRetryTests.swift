import Foundation
import XCTest
@testable import InjectSecretsCore
import TestSupport

/// Throttling, sealed and failing servers: OpenBao cannot be made to answer 429 or 503 on demand, so a
/// loopback stand-in answers a planned sequence of statuses before a normal KV answer.
final class VaultRetryTests: XCTestCase {
    static let script = #"""
import json, sys, http.server
port, plan_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
messages = {429: "request path \"secret/data/app/db\": rate limit quota exceeded", 503: "Vault is sealed",
            500: "internal error", 403: "1 error occurred:\n\t* permission denied\n\n"}
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_GET(self):
        with open(log_file, "a") as log: log.write(self.path + " ns=" + str(self.headers.get("X-Vault-Namespace")) + "\n")
        with open(plan_file) as f: plan = json.load(f)
        if plan:
            status = plan.pop(0)
            with open(plan_file, "w") as f: json.dump(plan, f)
            data = json.dumps({"errors": [messages.get(status, "error")]}).encode()
        else:
            status = 200
            data = json.dumps({"data": {"data": {"user": "app"}, "metadata": {"version": 4, "deletion_time": "",
                "destroyed": False, "created_time": "2026-11-29T00:00:00Z", "custom_metadata": None}}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429: self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""#

    struct StandIn {
        var server: LoopbackServer
        var directory: URL
        var plan: URL
        var log: URL
    }

    /// One stand-in per class; each test writes its own plan and starts from an empty log.
    static var standIn: Result<StandIn, Error>?

    override class func setUp() {
        super.setUp()
        standIn = Result {
            guard which("python3") != nil else {
                throw TestSupportError(try missingServer("python3", install: "apt-get install python3"))
            }
            let directory = try makeTemporaryDirectory("vault-retry")
            let scriptURL = directory.appendingPathComponent("flaky_vault.py")
            let plan = directory.appendingPathComponent("plan.json")
            let log = directory.appendingPathComponent("requests.log")
            try script.write(to: scriptURL, atomically: true, encoding: .utf8)
            try Data("[]".utf8).write(to: plan)
            try Data().write(to: log)
            let port = try freePort()
            let server = try LoopbackServer(
                executable: "python3", arguments: [scriptURL.path, String(port), plan.path, log.path], port: port)
            return StandIn(server: server, directory: directory, plan: plan, log: log)
        }
    }

    override class func tearDown() {
        if case .success(let standIn) = standIn {
            standIn.server.stop()
            try? FileManager.default.removeItem(at: standIn.directory)
        }
        super.tearDown()
    }

    /// Plans the stand-in's statuses; returns a provider for it and the request log.
    func start(plan: [Int], namespace: String? = nil) throws -> (VaultProvider, URL) {
        let standIn: StandIn
        switch Self.standIn {
        case .success(let value): standIn = value
        case .failure(let error):
            if isCI { throw error }
            throw XCTSkip("\(error)")
        case nil: throw XCTSkip("no stand-in")
        }
        try JSONSerialization.data(withJSONObject: plan).write(to: standIn.plan)
        try Data().write(to: standIn.log)
        let namespaceSetting = namespace.map { ", namespace: \($0)" } ?? ""
        let provider = try makeVaultProvider(
            "{type: vault, address: '\(standIn.server.baseURL)'\(namespaceSetting)}", environment: ["VAULT_TOKEN": "t"],
            retry: RetryPolicy(maxAttempts: 4, baseDelay: 0.01, maxDelay: 0.05, timeLimit: 10))
        return (provider, standIn.log)
    }

    func requests(_ log: URL) -> [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func testThrottlingAndServerErrorsAreRetried() async throws {
        let (provider, log) = try start(plan: [429, 503, 502])
        let ref = reference("db", "app/db")
        let fetched = try await provider.fetchOne(ref).get()
        XCTAssertEqual(fetched.version, "4")
        XCTAssertEqual(requests(log).count, 4)
    }

    func testPersistentThrottlingIsReportedAsThrottled() async throws {
        let (provider, log) = try start(plan: Array(repeating: 429, count: 10))
        let ref = reference("db", "app/db")
        let failure = try expectFailure(await provider.fetchOne(ref))
        XCTAssertEqual(failure.kind, .throttled)
        XCTAssertTrue(failure.message.contains("rate limited"), failure.message)
        XCTAssertTrue(failure.message.contains("after 4 attempts"), failure.message)
        XCTAssertTrue(failure.message.contains("rate limit quota exceeded"), "Vault's errors are quoted: \(failure.message)")
        XCTAssertTrue(failure.message.contains("secret/data/app/db"), failure.message)
        XCTAssertEqual(requests(log).count, 4)
    }

    func testSealedServerIsReportedAsSealed() async throws {
        let (provider, _) = try start(plan: Array(repeating: 503, count: 10))
        let query = VersionQuery(reference: reference("db", "app/db"), lockedVersion: "1")
        let failure = try expectFailure(await provider.inspectOne(query))
        XCTAssertEqual(failure.kind, .unreachable)
        XCTAssertTrue(failure.message.contains("sealed"), failure.message)
        XCTAssertTrue(failure.message.contains("503"), failure.message)
    }

    func testPolicyDenialIsNotRetriedAndReadsCleanly() async throws {
        let (provider, log) = try start(plan: [403])
        let ref = reference("db", "app/db")
        let failure = try expectFailure(await provider.fetchOne(ref))
        XCTAssertEqual(failure.kind, .accessDenied)
        XCTAssertTrue(failure.message.contains("permission denied"), failure.message)
        XCTAssertFalse(failure.message.contains("error occurred"), failure.message)
        XCTAssertEqual(requests(log).count, 1)
    }

    func testRequestShapeWithNamespaceAndVersion() async throws {
        let (provider, log) = try start(plan: [], namespace: "team/a")
        let refs = [reference("db", "/app/db path/", "3"), reference("other", "app/db path", "3")]
        let results = await provider.fetch(refs)
        XCTAssertNotNil(try results[refs[0]]?.get())
        XCTAssertNotNil(try results[refs[1]]?.get())
        XCTAssertEqual(requests(log), ["/v1/secret/data/app/db%20path?version=3 ns=team/a"])
    }
}
