import Foundation
import TestSupport
import XCTest
@testable import InjectSecretsKit

final class HTTPClientTests: XCTestCase {
    /// A redirect is never followed: the answer comes back as it is and the target sees no request, so
    /// a credential cannot travel to a URL that was not checked.
    func testRedirectsAreNotFollowed() throws {
        let directory = try makeTemporaryDirectory("redirect")
        defer { try? FileManager.default.removeItem(at: directory) }
        let targetPort = try freePort(), redirectPort = try freePort()
        let script = directory.appendingPathComponent("servers.py")
        try """
            import http.server, sys, threading
            directory = sys.argv[3]
            class Target(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    open(directory + "/target-hit", "w").write(self.headers.get("Authorization", ""))
                    self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
            class Redirect(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(302)
                    self.send_header("Location", "http://127.0.0.1:%s/stolen" % sys.argv[1])
                    self.send_header("Content-Length", "0"); self.end_headers()
            threading.Thread(target=http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Target).serve_forever, daemon=True).start()
            http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), Redirect).serve_forever()
            """.write(to: script, atomically: true, encoding: .utf8)
        let server = try LoopbackServer(
            executable: "python3", arguments: [script.path, String(targetPort), String(redirectPort), directory.path], port: redirectPort)
        defer { server.stop() }

        let client = HTTPClient()
        let request = HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(redirectPort)/secret")!, headers: [("Authorization", "Bearer CANARY-token")])
        let response = try awaitResult { try await client.send(request) }
        XCTAssertEqual(response.status, 302)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("target-hit").path))
    }

    /// Plain HTTP off loopback is refused before anything is sent.
    func testPacerLetsABurstThroughThenSpacesCallsAtItsRate() async {
        let clock = PacerClock()
        let pacer = CallPacer(rate: 100, burst: 3, now: { clock.time }, sleep: { clock.waits.append($0) })
        for _ in 0..<5 { await pacer.admit() }
        XCTAssertEqual(clock.waits.map { ($0 * 1000).rounded() }, [10, 20], "3 at once, then one every 10 ms")
        // A second later the bucket is full again, but never fuller than the burst.
        clock.time = 1
        clock.waits = []
        for _ in 0..<4 { await pacer.admit() }
        XCTAssertEqual(clock.waits.map { ($0 * 1000).rounded() }, [10])
    }

    func testPlainHTTPOffLoopbackIsRefusedBeforeSending() {
        let request = HTTPRequest(method: "GET", url: URL(string: "http://192.0.2.1/secret")!)
        XCTAssertThrowsError(try awaitResult { try await HTTPClient().send(request) }) { error in
            XCTAssertTrue("\(error)".contains("HTTPS is required"), "\(error)")
        }
    }

    private func awaitResult<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = expectation(description: "request")
        Task {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.fulfill()
        }
        wait(for: [done], timeout: 30)
        return try box.result!.get()
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// A clock for `CallPacer` that moves only when told, and records the waits asked of it.
private final class PacerClock: @unchecked Sendable {
    var time = 0.0
    var waits: [Double] = []
}
