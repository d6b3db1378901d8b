import CCurl
import Foundation

/// The real transport, on libcurl's multi interface.
///
/// Why libcurl and not URLSession: FoundationNetworking's URLSession on Linux offers no proxy choice (it
/// hands libcurl the environment's `http_proxy`, so a loopback Vault over plain HTTP would be proxied),
/// no CA file, no response size cap before buffering, and no stall detection (its timeout is reset by
/// every byte, so a 1-byte-a-second answer holds a run for minutes). libcurl has every one of these as an
/// option, is what FoundationNetworking itself runs on, and is on macOS too, so both platforms take one
/// path.
///
/// One driver thread runs the multi handle: requests from any task are handed to it, it runs them all
/// at once over a shared connection cache (keep-alive reuse, at most `maximumConnectionsPerHost` per
/// host), and resumes each caller when its transfer ends.
// @unchecked: the mutable state is private; `multi` (set once), `incoming` and `cancellations` are
// read and written under `lock`, `active` and the handles' transfers by the driver thread only, and
// callers reach the multi handle only through `curl_multi_wakeup`, which libcurl makes thread-safe.
package final class CurlTransport: HTTPTransport, @unchecked Sendable {
    package static let shared = CurlTransport(maximumConnectionsPerHost: 32)

    /// The stall floor: an attempt whose transfer rate stays under `stallBytesPerSecond` for
    /// `stallSeconds` fails (and may be retried), whatever its timeout. A store answers what we ask in
    /// well under a second; 1 KiB/s for 10 s leaves room for a slow network and catches a trickle.
    package static let stallBytesPerSecond = 1024
    package static let stallSeconds = 10

    package let maximumConnectionsPerHost: Int

    private let lock = NSLock()
    private var multi: UnsafeMutableRawPointer?
    /// Guarded by `lock`: transfers handed over and not yet added, and cancellations to apply.
    private var incoming: [Transfer] = []
    private var cancellations: [Transfer] = []
    /// Touched by the driver thread only.
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]

    private static let globalInit: Void = {
        _ = curl_global_init(3)  // CURL_GLOBAL_ALL
    }()

    package init(maximumConnectionsPerHost: Int) {
        self.maximumConnectionsPerHost = maximumConnectionsPerHost
    }

    package func send(_ request: HTTPRequest, options: TransportOptions) async throws -> HTTPResponse {
        let transfer = try Transfer(request, options: options)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                submit(transfer)
            }
        } onCancel: {
            cancel(transfer)
        }
    }

    private func submit(_ transfer: Transfer) {
        let multi: UnsafeMutableRawPointer = lock.withLock {
            if let multi = self.multi {
                incoming.append(transfer)
                return multi
            }
            Self.globalInit
            let multi = curl_multi_init()!
            _ = inject_curl_multi_set_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maximumConnectionsPerHost)
            _ = inject_curl_multi_set_long(multi, CURLMOPT_MAXCONNECTS, max(64, 2 * maximumConnectionsPerHost))
            self.multi = multi
            incoming.append(transfer)
            let thread = Thread { [self] in drive() }
            thread.name = "inject-secrets-http"
            thread.start()
            return multi
        }
        curl_multi_wakeup(multi)
    }

    private func cancel(_ transfer: Transfer) {
        let multi: UnsafeMutableRawPointer? = lock.withLock {
            transfer.cancelRequested = true
            cancellations.append(transfer)
            return self.multi
        }
        if let multi { curl_multi_wakeup(multi) }
    }

    /// The driver loop: never returns; the thread lives as long as the process.
    private func drive() {
        let multi = lock.withLock { self.multi! }
        while true {
            let (added, cancelled) = lock.withLock { () -> ([Transfer], [Transfer]) in
                defer { incoming = []; cancellations = [] }
                return (incoming, cancellations)
            }
            for transfer in added {
                if lock.withLock({ transfer.cancelRequested }) {
                    transfer.finish(.failure(CancellationError()))
                } else if curl_multi_add_handle(multi, transfer.easy) == CURLM_OK {
                    active[transfer.easy] = transfer
                } else {
                    transfer.finish(.failure(HTTPTransportError(url: transfer.url, underlying: "libcurl could not start the transfer", kind: .network)))
                }
            }
            for transfer in cancelled {
                // By identity: a finished transfer's handle address may already serve a new one.
                guard active[transfer.easy] === transfer else { continue }
                active[transfer.easy] = nil
                curl_multi_remove_handle(multi, transfer.easy)
                transfer.finish(.failure(CancellationError()))
            }
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let code = message.pointee.data.result
                guard let transfer = active.removeValue(forKey: easy) else { continue }
                curl_multi_remove_handle(multi, easy)
                transfer.finish(transfer.outcome(code))
            }
            var ready: Int32 = 0
            curl_multi_poll(multi, nil, 0, 1000, &ready)
        }
    }
}

/// One request on one easy handle, from setup to the caller's resumption.
// @unchecked: a transfer crosses to the driver thread once, through the locked `incoming` queue, and is
// used there only from then on; the caller's side touches `cancelRequested` under the transport's lock
// and sets `continuation` before handing it over (which takes the lock, so the driver sees it).
private final class Transfer: @unchecked Sendable {
    let easy: UnsafeMutableRawPointer
    let url: URL
    let options: TransportOptions
    let started = Date()
    var continuation: CheckedContinuation<HTTPResponse, Error>?
    /// Read and written under the transport's lock.
    var cancelRequested = false
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var received = 0
    private var body = Data()
    private var headers: [String: String] = [:]
    private var tooLarge = false

    init(_ request: HTTPRequest, options: TransportOptions) throws {
        guard let easy = curl_easy_init() else {
            throw HTTPTransportError(url: request.url, underlying: "libcurl could not start a transfer", kind: .network)
        }
        self.easy = easy
        url = request.url
        self.options = options
        let context = Unmanaged.passUnretained(self).toOpaque()
        var failed = false
        func set(_ code: CURLcode) { if code != CURLE_OK { failed = true } }

        set(inject_curl_set_string(easy, CURLOPT_URL, request.url.absoluteString))
        set(inject_curl_set_long(easy, CURLOPT_NOSIGNAL, 1))
        // A redirect is never followed: it would send a credential to a URL nobody checked against the
        // HTTPS rule; the 3xx reaches the caller as it is.
        set(inject_curl_set_long(easy, CURLOPT_FOLLOWLOCATION, 0))
        set(inject_curl_allow_only_http(easy))
        // HTTP/1.1: one request per connection at a time, so `maximumConnectionsPerHost` is the number in
        // flight to a store, as the benchmark measures it.
        set(inject_curl_set_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1))
        set(inject_curl_set_long(easy, CURLOPT_SSL_VERIFYPEER, 1))
        set(inject_curl_set_long(easy, CURLOPT_SSL_VERIFYHOST, 2))
        if let file = options.trust.caFile { set(inject_curl_set_string(easy, CURLOPT_CAINFO, file)) }
        if let folder = options.trust.caPath { set(inject_curl_set_string(easy, CURLOPT_CAPATH, folder)) }
        switch options.proxy {
        case .direct:
            // Explicitly none: otherwise libcurl reads http_proxy / ALL_PROXY itself.
            set(inject_curl_set_string(easy, CURLOPT_PROXY, ""))
        case .tunnel(let proxyURL, _, _):
            set(inject_curl_set_string(easy, CURLOPT_PROXY, proxyURL))
            set(inject_curl_set_long(easy, CURLOPT_HTTPPROXYTUNNEL, 1))
            set(inject_curl_set_long(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1))
        }
        let milliseconds = max(1, Int((options.timeout * 1000).rounded(.up)))
        set(inject_curl_set_long(easy, CURLOPT_TIMEOUT_MS, milliseconds))
        set(inject_curl_set_long(easy, CURLOPT_CONNECTTIMEOUT_MS, min(milliseconds, 10_000)))
        set(inject_curl_set_long(easy, CURLOPT_LOW_SPEED_LIMIT, CurlTransport.stallBytesPerSecond))
        set(inject_curl_set_long(easy, CURLOPT_LOW_SPEED_TIME, CurlTransport.stallSeconds))
        set(inject_curl_set_offset(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(options.maximumResponseBytes)))
        set(inject_curl_set_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
        set(inject_curl_set_callback(easy, CURLOPT_WRITEFUNCTION, transferWrite))
        set(inject_curl_set_pointer(easy, CURLOPT_WRITEDATA, context))
        set(inject_curl_set_callback(easy, CURLOPT_HEADERFUNCTION, transferHeader))
        set(inject_curl_set_pointer(easy, CURLOPT_HEADERDATA, context))

        var names = Set<String>()
        for (name, value) in request.headers {
            names.insert(name.lowercased())
            // "Name;" is libcurl's way to send an empty value ("Name:" would remove the header).
            headerList = curl_slist_append(headerList, value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        // No "Expect: 100-continue" round trip for larger bodies, as URLSession did not either.
        if !names.contains("expect") { headerList = curl_slist_append(headerList, "Expect:") }
        set(inject_curl_set_list(easy, CURLOPT_HTTPHEADER, headerList))

        let method = request.method.uppercased()
        switch method {
        case "GET":
            set(inject_curl_set_long(easy, CURLOPT_HTTPGET, 1))
        case "HEAD":
            set(inject_curl_set_long(easy, CURLOPT_NOBODY, 1))
        default:
            if !request.body.isEmpty || method == "POST" || method == "PUT" || method == "PATCH" {
                set(inject_curl_set_long(easy, CURLOPT_POST, 1))
                set(inject_curl_set_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
                request.body.withUnsafeBytes { bytes in
                    let empty: StaticString = ""
                    let pointer = bytes.baseAddress ?? UnsafeRawPointer(empty.utf8Start)
                    set(inject_curl_set_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: pointer)))
                }
            }
            if method != "POST" { set(inject_curl_set_string(easy, CURLOPT_CUSTOMREQUEST, method)) }
        }
        if failed {
            release()
            throw HTTPTransportError(url: request.url, underlying: "libcurl refused the transfer's settings", kind: .refused)
        }
    }

    /// Called from the driver thread once: frees the handle and resumes the caller.
    func finish(_ result: Result<HTTPResponse, Error>) {
        release()
        continuation?.resume(with: result)
        continuation = nil
    }

    private func release() {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        headerList = nil
    }

    /// Counts `bytes` against the cap, headers and body alike, so no answer of any shape grows without
    /// bound; false once it is passed (the callback then returns 0, which aborts the transfer).
    private func admit(_ bytes: Int) -> Bool {
        received += bytes
        if received > options.maximumResponseBytes { tooLarge = true }
        return !tooLarge
    }

    func write(_ data: UnsafeRawBufferPointer) -> Int {
        guard admit(data.count) else { return 0 }
        body.append(contentsOf: data)
        return data.count
    }

    func header(_ data: UnsafeRawBufferPointer) -> Int {
        guard admit(data.count) else { return 0 }
        let line = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            // A new status line (after a 100 Continue): only the final answer's headers count.
            headers = [:]
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if let earlier = headers[name] { headers[name] = earlier + ", " + value } else { headers[name] = value }
        }
        return data.count
    }

    /// The response, or what went wrong in words that name the host and the event only.
    func outcome(_ code: CURLcode) -> Result<HTTPResponse, Error> {
        if code == CURLE_OK {
            var status = 0
            _ = inject_curl_get_long(easy, CURLINFO_RESPONSE_CODE, &status)
            return .success(HTTPResponse(status: status, headers: headers, body: body))
        }
        return .failure(error(code))
    }

    private func error(_ code: CURLcode) -> HTTPTransportError {
        func failure(_ text: String, _ kind: HTTPTransportError.Kind) -> HTTPTransportError {
            HTTPTransportError(url: url, underlying: text, kind: kind)
        }
        let limit = "\(options.maximumResponseBytes >> 20) MiB"
        if tooLarge || code == CURLE_FILESIZE_EXCEEDED {
            return failure("refused an answer larger than the \(limit) limit", .tooLarge)
        }
        if case .tunnel(_, let proxy, let variable) = options.proxy {
            var connectCode = 0
            _ = inject_curl_get_long(easy, CURLINFO_HTTP_CONNECTCODE, &connectCode)
            if connectCode != 0 && connectCode != 200 {
                return failure("the proxy \(proxy) (from \(variable)) refused the tunnel: HTTP \(connectCode)", .proxy)
            }
            if code == CURLE_COULDNT_RESOLVE_PROXY {
                return failure("could not resolve the proxy \(proxy) (from \(variable))", .proxy)
            }
            if code == CURLE_COULDNT_CONNECT && connectCode == 0 {
                return failure("could not connect to the proxy \(proxy) (from \(variable))", .proxy)
            }
        }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            let elapsed = Date().timeIntervalSince(started)
            if elapsed + 0.5 < options.timeout {
                return failure(
                    "stalled: the answer came slower than \(CurlTransport.stallBytesPerSecond) bytes a second for \(CurlTransport.stallSeconds) s",
                    .timedOut)
            }
            return failure("no answer within \(RunDeadline.format(options.timeout)) s", .timedOut)
        case CURLE_COULDNT_RESOLVE_HOST:
            return failure("could not resolve the host name", .network)
        case CURLE_COULDNT_CONNECT:
            return failure("could not connect (refused or unreachable)", .network)
        case CURLE_GOT_NOTHING:
            return failure("the server closed the connection without answering", .network)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR:
            return failure("the connection failed during the exchange", .network)
        case CURLE_PARTIAL_FILE:
            return failure("the answer ended before its announced length", .network)
        case CURLE_PEER_FAILED_VERIFICATION:
            return failure("its TLS certificate is not trusted by \(options.trust.trustedDescription)", .tls)
        case CURLE_SSL_CACERT_BADFILE:
            return failure("\(options.trust.trustedDescription) could not be loaded as PEM certificates", .tls)
        case CURLE_SSL_CONNECT_ERROR:
            return failure("the TLS handshake failed", .tls)
        default:
            // libcurl's fixed text for the code: it names no host, header or data.
            return failure(String(cString: curl_easy_strerror(code)), .network)
        }
    }
}

private let transferWrite: inject_curl_data_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.write(UnsafeRawBufferPointer(start: data, count: size * count))
}

private let transferHeader: inject_curl_data_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.header(UnsafeRawBufferPointer(start: data, count: size * count))
}
