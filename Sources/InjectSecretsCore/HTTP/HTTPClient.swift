import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A request to a store, built by a provider and sent by `HTTPClient`.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [(String, String)]
    public var body: Data

    public init(method: String, url: URL, headers: [(String, String)] = [], body: Data = Data()) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// A transport failure: no HTTP answer at all (refused, reset, timed out, TLS).
public struct HTTPTransportError: Error, Sendable, CustomStringConvertible {
    public var url: URL
    public var underlying: String
    public var description: String { "\(url.host ?? url.absoluteString): \(underlying)" }
}

/// Sends requests over one URLSession per run, so connections are reused. Refuses plain HTTP off
/// loopback before anything leaves the process.
public final class HTTPClient: @unchecked Sendable {
    private let session: URLSession

    public init(timeout: TimeInterval = 30, maximumConnectionsPerHost: Int = 32) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpMaximumConnectionsPerHost = maximumConnectionsPerHost
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration, delegate: RedirectRefusal(), delegateQueue: nil)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    /// One shared client for a run.
    public static let shared = HTTPClient()

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try EndpointPolicy.check(request.url)
        return try await transmit(request)
    }

    /// Sends without `EndpointPolicy`: only for callers that have applied a stricter check of their own.
    /// The one such caller is the AWS credential code (`AWSCredentialEndpoint`), which must reach the
    /// link-local instance and container metadata addresses over plain HTTP, as AWS defines them.
    /// `timeout` overrides the client's request timeout (IMDS: 1 s).
    func transmit(_ request: HTTPRequest, timeout: TimeInterval? = nil) async throws -> HTTPResponse {
        var urlRequest = URLRequest(url: request.url)
        if let timeout { urlRequest.timeoutInterval = timeout }
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers {
            urlRequest.addValue(value, forHTTPHeaderField: name)
        }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            urlRequest.httpBody = request.body
        }
        let url = request.url
        return try await withCheckedThrowingContinuation { continuation in
            let task = session.dataTask(with: urlRequest) { data, response, error in
                if let error {
                    continuation.resume(throwing: HTTPTransportError(url: url, underlying: error.localizedDescription))
                    return
                }
                guard let http = response as? HTTPURLResponse else {
                    continuation.resume(throwing: HTTPTransportError(url: url, underlying: "no HTTP response"))
                    return
                }
                var headers: [String: String] = [:]
                for (key, value) in http.allHeaderFields {
                    if let key = key as? String, let value = value as? String {
                        headers[key.lowercased()] = value
                    }
                }
                continuation.resume(returning: HTTPResponse(status: http.statusCode, headers: headers, body: data ?? Data()))
            }
            task.resume()
        }
    }
}

/// Refuses every redirect: the stores do not redirect, and following one would send a credential to a
/// URL that was never checked against the HTTPS rule. The 3xx answer reaches the provider as it is.
private final class RedirectRefusal: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
