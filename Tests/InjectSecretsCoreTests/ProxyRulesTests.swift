import Foundation
import XCTest
@testable import InjectSecretsKit

/// The proxy decision, one rule at a time: only HTTPS is proxied, loopback and link-local never are,
/// and NO_PROXY is read as the Go tools (Vault CLI, AWS SDK for Go) read it.
final class ProxyRulesTests: XCTestCase {
    private func route(_ url: String, _ environment: [String: String]) throws -> ProxyRoute {
        try ProxyRules.route(for: URL(string: url)!, environment: environment)
    }

    private func isProxied(_ url: String, _ environment: [String: String]) throws -> Bool {
        try route(url, environment) != .direct
    }

    func testOnlyHTTPSVariablesApplyAndOnlyToHTTPS() throws {
        let everything = ["http_proxy": "http://p:1", "HTTP_PROXY": "http://p:1", "ALL_PROXY": "http://p:1", "all_proxy": "http://p:1"]
        XCTAssertFalse(try isProxied("http://vault.example.com:8200/v1/x", everything), "plain HTTP is never proxied")
        XCTAssertFalse(try isProxied("https://vault.example.com/v1/x", ["http_proxy": "http://p:1", "HTTP_PROXY": "http://p:1"]))
        XCTAssertEqual(
            try route("https://vault.example.com/v1/x", ["HTTPS_PROXY": "http://user:pw@proxy.corp:3128", "ALL_PROXY": "http://other:1"]),
            .tunnel(url: "http://user:pw@proxy.corp:3128", display: "proxy.corp:3128", variable: "HTTPS_PROXY"))
        XCTAssertEqual(
            try route("https://vault.example.com/", ["https_proxy": "proxy.corp:8080"]),
            .tunnel(url: "http://proxy.corp:8080", display: "proxy.corp:8080", variable: "https_proxy"))
        XCTAssertEqual(
            try route("https://vault.example.com/", ["all_proxy": "http://proxy.corp"]),
            .tunnel(url: "http://proxy.corp:80", display: "proxy.corp:80", variable: "all_proxy"), "libcurl would use 1080")
        XCTAssertFalse(try isProxied("https://vault.example.com/", ["HTTPS_PROXY": "", "https_proxy": " "]), "empty means unset")
    }

    func testLoopbackAndLinkLocalAreNeverProxied() throws {
        let proxy = ["HTTPS_PROXY": "http://proxy.corp:3128", "ALL_PROXY": "http://proxy.corp:3128"]
        for url in [
            "https://127.0.0.1:8200/", "https://127.9.9.9/", "https://localhost/", "https://LOCALHOST./", "https://vault.localhost/",
            "https://[::1]:8443/", "https://169.254.169.254/", "https://169.254.170.2/v2/credentials",
            "https://[fe80::1]/", "https://[febf::1]/", "https://[fd00:ec2::254]/", "https://[fd00:ec2::23]/",
        ] {
            XCTAssertFalse(try isProxied(url, proxy), url)
        }
        for url in ["https://[fec0::1]/", "https://169.255.0.1/", "https://128.0.0.1/", "https://[fd00:ec2::255]/"] {
            XCTAssertTrue(try isProxied(url, proxy), url)
        }
    }

    func testNoProxyEntries() throws {
        func exempt(_ url: String, _ noProxy: String) throws -> Bool {
            try !isProxied(url, ["HTTPS_PROXY": "http://proxy.corp:3128", "no_proxy": noProxy])
        }
        XCTAssertTrue(try exempt("https://vault.corp.example/", "*"))
        XCTAssertTrue(try exempt("https://vault.corp.example/", "other, vault.corp.example"), "exact host")
        XCTAssertTrue(try exempt("https://a.b.corp.example/", "corp.example"), "a bare domain covers its subdomains")
        XCTAssertTrue(try exempt("https://corp.example/", "corp.example"))
        XCTAssertFalse(try exempt("https://notcorp.example/", "corp.example"), "a suffix match is by whole labels")
        XCTAssertTrue(try exempt("https://x.corp.example/", ".corp.example"))
        XCTAssertFalse(try exempt("https://corp.example/", ".corp.example"), "a leading dot means subdomains only")
        XCTAssertTrue(try exempt("https://10.1.2.3/", "10.1.2.3"))
        XCTAssertTrue(try exempt("https://10.1.2.3/", "10.0.0.0/8"))
        XCTAssertFalse(try exempt("https://11.1.2.3/", "10.0.0.0/8"))
        XCTAssertTrue(try exempt("https://[2001:db8::1]/", "2001:db8:0::1"), "IPv6 compared as addresses")
        XCTAssertTrue(try exempt("https://vault.corp.example:8200/", "vault.corp.example:8200"))
        XCTAssertFalse(try exempt("https://vault.corp.example/", "vault.corp.example:8200"), "a port limits the entry")
        XCTAssertTrue(try exempt("https://VAULT.corp.example./", "Vault.Corp.Example"), "case and a trailing dot do not matter")
        XCTAssertFalse(try isProxied("https://vault.corp.example/", ["HTTPS_PROXY": "http://p:1", "NO_PROXY": "vault.corp.example", "no_proxy": ""]))
    }

    func testBadProxyNamesTheVariableNotItsCredentials() {
        XCTAssertThrowsError(try route("https://vault.example.com/", ["HTTPS_PROXY": "ftp://user:CANARY-pw@proxy.corp:21"])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("HTTPS_PROXY"), text)
            XCTAssertFalse(text.contains("CANARY"), text)
        }
    }

    func testClientSendsTheRouteAndTrustToTheTransport() async throws {
        let script = ScriptedTransport([.respond(HTTPResponse(status: 204, headers: [:], body: Data()))])
        let trust = TLSTrust(caFile: "/etc/ca.pem", origin: "VAULT_CACERT")
        let client = HTTPClient(transport: script, trust: trust, proxyEnvironment: ["HTTPS_PROXY": "http://proxy.corp:3128"])
        _ = try await client.send(HTTPRequest(method: "GET", url: URL(string: "https://vault.example.com/v1/x")!))
        _ = try await client.send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:8200/v1/x")!))
        XCTAssertEqual(script.sent.map(\.options.proxy), [
            .tunnel(url: "http://proxy.corp:3128", display: "proxy.corp:3128", variable: "HTTPS_PROXY"), .direct,
        ])
        XCTAssertEqual(script.sent.map(\.options.trust), [trust, trust])
        XCTAssertEqual(script.sent.first?.options.maximumResponseBytes, 4 << 20)
    }

    func testHeaderWithALineBreakIsNeverSent() async {
        let script = ScriptedTransport([.respond(HTTPResponse(status: 200, headers: [:], body: Data()))])
        let request = HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:1/")!, headers: [("X-Vault-Token", "CANARY\r\nX-Injected: 1")])
        do {
            _ = try await HTTPClient(transport: script).send(request)
            XCTFail("sent")
        } catch {
            XCTAssertFalse("\(error)".contains("CANARY"), "\(error)")
        }
        XCTAssertTrue(script.sent.isEmpty)
    }
}

/// `RetryPolicy` and `HTTPClient` under a run deadline, with a scripted transport: no server, no sleep
/// longer than the deadline.
final class RunDeadlineTests: XCTestCase {
    func testAttemptTimeoutIsCutToWhatIsLeftOfTheRun() async throws {
        let script = ScriptedTransport([.respond(HTTPResponse(status: 200, headers: [:], body: Data()))])
        let client = HTTPClient(timeout: 30, transport: script)
        try await RunDeadline.$current.withValue(RunDeadline(seconds: 2)) {
            _ = try await client.send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:1/")!))
        }
        _ = try await client.send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:1/")!))
        let timeouts = script.sent.map(\.options.timeout)
        XCTAssertLessThanOrEqual(timeouts[0], 2)
        XCTAssertGreaterThan(timeouts[0], 1)
        XCTAssertEqual(timeouts[1], 30)
    }

    func testNoRequestStartsOnceTheRunIsOutOfTime() async {
        let script = ScriptedTransport([.respond(HTTPResponse(status: 200, headers: [:], body: Data()))])
        let expired = RunDeadline(seconds: 1, from: 0)
        do {
            try await RunDeadline.$current.withValue(expired) {
                _ = try await HTTPClient(transport: script).send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:1/")!))
            }
            XCTFail("sent")
        } catch let error as HTTPTransportError {
            XCTAssertEqual(error.kind, .deadline)
            XCTAssertTrue(error.description.contains("--timeout of 1 s"), error.description)
        } catch {
            XCTFail("\(error)")
        }
        XCTAssertTrue(script.sent.isEmpty)
    }

    func testRetriesStopAtTheDeadlineNotAtTheirOwnLimit() async {
        let script = ScriptedTransport([.fail(.network, "could not connect")])
        let client = HTTPClient(transport: script)
        let policy = RetryPolicy(maxAttempts: 100, baseDelay: 0.4, maxDelay: 0.4, timeLimit: 600)
        let started = Date()
        do {
            try await RunDeadline.$current.withValue(RunDeadline(seconds: 1.5)) {
                _ = try await policy.run({ _ in
                    try await client.send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:1/")!))
                }, classify: { _ in .retryAfter(0.4) })
            }
            XCTFail("succeeded")
        } catch let failure as RetryFailure {
            XCTAssertTrue(failure.attemptsNote.contains("--timeout of 1.5 s ran out"), failure.attemptsNote)
            XCTAssertLessThan(failure.attempts, 6)
        } catch {
            XCTFail("\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.6, "no sleep past the deadline")
    }

    func testHopelessTransportFailuresAreNotRetried() async {
        let script = ScriptedTransport([.fail(.tooLarge, "refused an answer larger than the 4 MiB limit")])
        let client = HTTPClient(transport: script)
        do {
            _ = try await RetryPolicy(maxAttempts: 5, baseDelay: 0, maxDelay: 0).run({ _ in
                try await client.send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:1/")!))
            }, classify: { _ in .retry })
            XCTFail("succeeded")
        } catch {
            XCTAssertEqual((error as? RetryFailure)?.attempts, 1)
        }
        XCTAssertEqual(script.sent.count, 1)
    }
}
