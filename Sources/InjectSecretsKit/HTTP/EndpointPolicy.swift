import Foundation

/// Plain HTTP only to loopback (127.0.0.0/8, ::1, localhost); HTTPS everywhere else.
/// Checked before any request is sent, so a secret or a credential never crosses a network in clear.
package enum EndpointPolicy {
    package struct Violation: Error, Sendable, CustomStringConvertible {
        package var message: String
        package var description: String { message }

        package init(message: String) { self.message = message }
    }

    /// Parses `text` as an endpoint URL and checks its scheme.
    package static func checked(_ text: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), url.host != nil else {
            throw Violation(message: "'\(text)' is not a URL with a scheme and a host")
        }
        try check(url, scheme: scheme)
        return url
    }

    package static func check(_ url: URL) throws {
        try check(url, scheme: url.scheme?.lowercased() ?? "")
    }

    private static func check(_ url: URL, scheme: String) throws {
        switch scheme {
        case "https":
            return
        case "http":
            if isLoopback(host: url.host ?? "") { return }
            throw Violation(
                message: "HTTPS is required for \(url.host ?? "this host"): plain HTTP is allowed only to loopback (127.0.0.0/8, ::1, localhost); use https://")
        default:
            throw Violation(message: "unsupported URL scheme '\(scheme)' in \(url.absoluteString); use https://")
        }
    }

    package static func isLoopback(host rawHost: String) -> Bool {
        var host = rawHost.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }
}
