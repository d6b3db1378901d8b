import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One HTTP/1.1 GET to 127.0.0.1 over a plain socket, for the extension inside the execution environment.
///
/// Not URLSession: on Linux, FoundationNetworking hands requests to libcurl, which sends them through
/// `http_proxy`/`all_proxy` from the environment and ignores `connectionProxyDictionary` (its proxy
/// settings are unimplemented), so a function with an outbound proxy would send the session token and the
/// secret through it. A loopback GET needs no TLS, redirects or proxies, and here the size and time
/// bounds are exact.
struct LoopbackExchange {
    var port: Int
    var target: String
    var headers: [(String, String)]
    var timeout: TimeInterval
    var maximumBodyBytes: Int
    /// Room for the status line and headers on top of the body.
    static let headerAllowance = 16 * 1024

    func run() throws -> (Int, Data) {
        let deadline = Date().addingTimeInterval(timeout)
        let fd = try connectLoopback()
        defer { close(fd) }
        try sendAll(fd, request())
        let response = try receive(fd, deadline: deadline)
        return try Self.parse(response, limit: maximumBodyBytes)
    }

    func request() throws -> Data {
        var text = "GET \(target) HTTP/1.1\r\nHost: localhost:\(port)\r\nAccept: application/json\r\nConnection: close\r\n"
        for (name, value) in headers {
            // A CR or LF would end the header and start another.
            guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) else { throw SecretsRuntimeError.tokenRefused(status: 0) }
            text += "\(name): \(value)\r\n"
        }
        return Data((text + "\r\n").utf8)
    }

    private func unreachable(_ what: String) -> SecretsRuntimeError {
        .extensionNotReachable(port: port, detail: "\(what): \(String(cString: strerror(errno)))")
    }

    private func connectLoopback() throws -> Int32 {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw unreachable("socket") }
        var interval = timeval(tv_sec: Int(timeout), tv_usec: .init((timeout - floor(timeout)) * 1_000_000))
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            setsockopt(fd, SOL_SOCKET, option, &interval, socklen_t(MemoryLayout<timeval>.size))
        }
        #if canImport(Darwin)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = unreachable("connect to 127.0.0.1:\(port)")
            close(fd)
            throw error
        }
        return fd
    }

    private func sendAll(_ fd: Int32, _ data: Data) throws {
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        var offset = 0
        while offset < data.count {
            let sent = data.withUnsafeBytes { send(fd, $0.baseAddress! + offset, data.count - offset, flags) }
            guard sent > 0 else { throw unreachable("send") }
            offset += sent
        }
    }

    private func receive(_ fd: Int32, deadline: Date) throws -> Data {
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return response }
            guard count > 0 else {
                if errno == EAGAIN || errno == EWOULDBLOCK { throw unreachable("no answer within \(Int(timeout)) s") }
                throw unreachable("recv")
            }
            response.append(contentsOf: buffer[0..<count])
            if response.count > maximumBodyBytes + Self.headerAllowance {
                throw SecretsRuntimeError.responseTooLarge(limit: maximumBodyBytes)
            }
            // A server that trickles bytes must still finish in time.
            if Date() > deadline { throw unreachable("no complete answer within \(Int(timeout)) s") }
        }
    }

    /// Status and body of a complete HTTP/1.1 response (Content-Length, chunked, or until close).
    static func parse(_ response: Data, limit: Int) throws -> (Int, Data) {
        let bytes = [UInt8](response)
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            throw SecretsRuntimeError.extensionError(status: 0, code: "incomplete HTTP answer", arn: "")
        }
        let head = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw SecretsRuntimeError.extensionError(status: 0, code: "not an HTTP answer", arn: "")
        }
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(bytes[(end + 4)...])
        if fields["transfer-encoding"]?.lowercased() == "chunked" {
            body = try dechunk(body)
        } else if let length = fields["content-length"].flatMap({ Int($0) }) {
            guard length <= body.count else {
                throw SecretsRuntimeError.extensionError(status: status, code: "answer cut short", arn: "")
            }
            body = Array(body[0..<length])
        }
        guard body.count <= limit else { throw SecretsRuntimeError.responseTooLarge(limit: limit) }
        return (status, Data(body))
    }

    private static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = (index..<max(index, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
                let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16)
            else { throw SecretsRuntimeError.extensionError(status: 0, code: "bad chunked answer", arn: "") }
            index = lineEnd + 2
            if size == 0 { return out }
            guard index + size <= bytes.count else {
                throw SecretsRuntimeError.extensionError(status: 0, code: "answer cut short", arn: "")
            }
            out += bytes[index..<index + size]
            index += size + 2
        }
    }
}
