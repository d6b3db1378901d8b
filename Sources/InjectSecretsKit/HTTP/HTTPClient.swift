import Foundation

/// The one HTTP path of every store, credential endpoint, STS and Lambda call. Refuses plain HTTP off
/// loopback before anything leaves the process, refuses headers that would split a request, decides the
/// proxy (`ProxyRules`) and the trusted CAs, and bounds each attempt by the run's deadline; the
/// transport (`CurlTransport`, or a `ScriptedTransport` in tests) carries it out. A value type: a store
/// derives its own client (`trusting`, `proxying`) from the shared one, and all of them share the
/// transport's connections.
package struct HTTPClient: Sendable {
    /// The largest answer read, 4 MiB. Nothing the tool asks for comes near it: a Secrets Manager or Key
    /// Vault value is at most 64 KiB (25 KiB for Azure), an SSM parameter 8 KiB, a page of versions or a
    /// batch of 20 secrets a few hundred KiB, Lambda's whole environment 4 KiB. A larger answer is a
    /// hostile or broken server; it is refused as it arrives, never held in memory.
    package static let maximumResponseBytes = 4 << 20

    package var transport: any HTTPTransport
    /// The longest one attempt may take, connection to last byte.
    package var timeout: TimeInterval
    package var trust: TLSTrust
    /// The variables the proxy is chosen from: the run's process environment.
    package var proxyEnvironment: [String: String]

    package init(
        timeout: TimeInterval = 30, maximumConnectionsPerHost: Int = 32, transport: (any HTTPTransport)? = nil,
        trust: TLSTrust = .system, proxyEnvironment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.transport = transport
            ?? (maximumConnectionsPerHost == CurlTransport.shared.maximumConnectionsPerHost
                ? CurlTransport.shared : CurlTransport(maximumConnectionsPerHost: maximumConnectionsPerHost))
        self.timeout = timeout
        self.trust = trust
        self.proxyEnvironment = proxyEnvironment
    }

    /// One shared client for a run.
    package static let shared = HTTPClient()

    /// This client trusting `trust` instead, unless `trust` is the system's.
    package func trusting(_ trust: TLSTrust) -> HTTPClient {
        guard trust != .system else { return self }
        var client = self
        client.trust = trust
        return client
    }

    /// This client choosing its proxy from `environment` (a store's view of the run's environment).
    package func proxying(from environment: [String: String]) -> HTTPClient {
        var client = self
        client.proxyEnvironment = environment
        return client
    }

    package func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try EndpointPolicy.check(request.url)
        return try await transmit(request)
    }

    /// Sends without `EndpointPolicy`: only for callers that have applied a stricter check of their own.
    /// The callers are the AWS credential code (`AWSCredentialEndpoint`) and Azure's `IMDSEndpoint`,
    /// which must reach the link-local metadata addresses over plain HTTP, as AWS and Azure define them.
    /// `timeout` overrides the client's attempt timeout (IMDS: 1 s).
    package func transmit(_ request: HTTPRequest, timeout: TimeInterval? = nil) async throws -> HTTPResponse {
        for (name, value) in request.headers where !Self.isSafeHeader(name: name, value: value) {
            throw HTTPTransportError(
                url: request.url, underlying: "refused to send header '\(Self.printable(name))': it holds a line break or a control character",
                kind: .refused)
        }
        var attemptTimeout = timeout ?? self.timeout
        var cutByDeadline: RunDeadline?
        if let deadline = RunDeadline.current {
            let left = deadline.remaining
            guard left > 0 else {
                throw HTTPTransportError(url: request.url, underlying: "not sent: \(deadline.ranOut)", kind: .deadline)
            }
            if left < attemptTimeout {
                attemptTimeout = left
                cutByDeadline = deadline
            }
        }
        let proxy: ProxyRoute
        do {
            proxy = try ProxyRules.route(for: request.url, environment: proxyEnvironment)
        } catch let misconfigured as ProxyRules.Misconfigured {
            throw HTTPTransportError(url: request.url, underlying: misconfigured.message, kind: .proxy)
        }
        let options = TransportOptions(timeout: attemptTimeout, proxy: proxy, trust: trust)
        do {
            return try await transport.send(request, options: options)
        } catch var error as HTTPTransportError where error.kind == .timedOut && (cutByDeadline?.remaining ?? 1) < 0.25 {
            // The attempt ended because the run did (not by a stall before that): no further attempt.
            error.kind = .deadline
            error.underlying += " (\(cutByDeadline!.ranOut))"
            throw error
        }
    }

    /// RFC 9110 token characters for names; values without CR, LF or NUL (a line break would start a
    /// second header or request, as `AWS_CONTAINER_AUTHORIZATION_TOKEN` with "\r\n" would).
    static func isSafeHeader(name: String, value: String) -> Bool {
        let tokenExtras = Set("!#$%&'*+-.^_`|~")
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || tokenExtras.contains($0)) }) else {
            return false
        }
        return !value.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }
    }

    private static func printable(_ name: String) -> String {
        String(name.unicodeScalars.prefix(64).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
    }
}
