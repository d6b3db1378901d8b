import Foundation

/// A request to a store, built by a provider and sent by `HTTPClient`.
package struct HTTPRequest: Sendable {
    package var method: String
    package var url: URL
    package var headers: [(String, String)]
    package var body: Data

    package init(method: String, url: URL, headers: [(String, String)] = [], body: Data = Data()) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// An `application/x-www-form-urlencoded` body (token requests, the AWS query protocol): every byte
/// except the unreserved `A-Z a-z 0-9 - _ . ~` percent-encoded, as both Entra and AWS expect.
package func formEncoded(_ fields: [(String, String)]) -> Data {
    let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
    return Data(fields.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&").utf8)
}

package struct HTTPResponse: Sendable {
    package var status: Int
    /// Header names lowercased.
    package var headers: [String: String]
    package var body: Data

    package init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    package func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// A transport failure: no HTTP answer at all (refused, reset, timed out, stalled, too large, TLS). The
/// text names the host and what happened, never a header, a body or a proxy credential.
package struct HTTPTransportError: Error, Sendable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// Connection refused, reset, closed, name not resolved: another attempt may work.
        case network
        /// The attempt ran out of time, or the answer came slower than the stall floor.
        case timedOut
        /// The run's `--timeout` ran out: no further attempt may start.
        case deadline
        /// The answer is larger than `HTTPClient.maximumResponseBytes`.
        case tooLarge
        /// The server's certificate is not trusted, or TLS could not be set up: retrying cannot help.
        case tls
        /// The proxy refused or could not be used.
        case proxy
        /// The request cannot be sent as it is (a header with a line break).
        case refused
    }

    package var url: URL
    package var underlying: String
    package var kind: Kind

    package init(url: URL, underlying: String, kind: Kind = .network) {
        self.url = url
        self.underlying = underlying
        self.kind = kind
    }

    /// Whether another attempt could get an answer; `RetryPolicy` never retries the others.
    package var isRetryable: Bool { kind == .network || kind == .timedOut || kind == .proxy }

    package var description: String { "\(url.host ?? "the server"): \(underlying)" }
}

/// How one attempt is sent, decided by `HTTPClient` for every request.
package struct TransportOptions: Sendable, Equatable {
    /// The whole attempt, connection to last byte: the smaller of the client's timeout and what is left
    /// of the run's `--timeout`.
    package var timeout: TimeInterval
    package var proxy: ProxyRoute
    package var trust: TLSTrust
    /// Answers larger than this are refused while they arrive, never buffered whole.
    package var maximumResponseBytes: Int

    package init(timeout: TimeInterval, proxy: ProxyRoute = .direct, trust: TLSTrust = .system, maximumResponseBytes: Int = HTTPClient.maximumResponseBytes) {
        self.timeout = timeout
        self.proxy = proxy
        self.trust = trust
        self.maximumResponseBytes = maximumResponseBytes
    }
}

/// What sends bytes: `CurlTransport` for real, `ScriptedTransport` in tests. Policy (the HTTPS rule,
/// proxies, deadlines) is `HTTPClient`'s; a transport only carries out `options`.
package protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest, options: TransportOptions) async throws -> HTTPResponse
}

/// A transport that answers from a script, in order, and records what it was asked: for unit tests of
/// retries, deadlines and status handling without a server.
// @unchecked: the mutable state is private and read and written only under `lock`
// (`Synchronization.Mutex` needs macOS 15; this package supports macOS 13).
package final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    package enum Step: Sendable {
        case respond(HTTPResponse)
        case fail(HTTPTransportError.Kind, String)
    }

    package struct Sent: Sendable {
        package var request: HTTPRequest
        package var options: TransportOptions
    }

    private let lock = NSLock()
    private var steps: [Step]
    private var log: [Sent] = []

    /// `steps` are used in order; once they run out the last one repeats.
    package init(_ steps: [Step]) {
        precondition(!steps.isEmpty, "a script needs at least one step")
        self.steps = steps
    }

    package var sent: [Sent] { lock.withLock { log } }

    package func send(_ request: HTTPRequest, options: TransportOptions) async throws -> HTTPResponse {
        let step: Step = lock.withLock {
            log.append(Sent(request: request, options: options))
            return steps.count > 1 ? steps.removeFirst() : steps[0]
        }
        switch step {
        case .respond(let response): return response
        case .fail(let kind, let text): throw HTTPTransportError(url: request.url, underlying: text, kind: kind)
        }
    }
}
