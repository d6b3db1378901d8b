import Foundation

/// Where an attempt goes: straight to the server, or through a proxy by a CONNECT tunnel.
package enum ProxyRoute: Sendable, Equatable {
    case direct
    /// `url` is handed to the transport only (it may hold credentials); `display` is `host:port`, the only
    /// part of it any message names; `variable` is the environment variable it came from.
    case tunnel(url: String, display: String, variable: String)
}

/// The proxy decision, as the AWS SDKs and the Vault CLI (Go's `http.ProxyFromEnvironment`) make it, with
/// one difference, so that nothing crosses a proxy in clear: only HTTPS is ever proxied.
///
/// - HTTPS requests use HTTPS_PROXY / https_proxy, else ALL_PROXY / all_proxy.
/// - NO_PROXY / no_proxy exempts hosts: `*`, exact names, `name` (the name and its subdomains),
///   `.name` (subdomains only), IP addresses, IPv4 CIDR blocks, each optionally with `:port`.
/// - Plain HTTP never goes through a proxy (the proxy would see the token in clear), and loopback and
///   link-local endpoints (127/8, ::1, localhost, 169.254/16, fe80::/10, AWS's fd00:ec2::254 and
///   fd00:ec2::23) are never proxied, whatever the variables say: the instance and container credential
///   endpoints must not be asked through anything.
///
/// The transport is always told the route explicitly, so a library's own reading of `http_proxy`
/// (libcurl's) never applies.
package enum ProxyRules {
    package struct Misconfigured: Error, Sendable, CustomStringConvertible {
        package var message: String
        package var description: String { message }
    }

    package static func route(for url: URL, environment: [String: String]) throws -> ProxyRoute {
        guard url.scheme?.lowercased() == "https", let host = url.host, !isNeverProxied(host: host) else { return .direct }
        guard let (variable, text) = first(["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"], in: environment) else {
            return .direct
        }
        if let exemptions = first(["NO_PROXY", "no_proxy"], in: environment)?.value,
            isExempt(host: host, port: url.port ?? 443, noProxy: exemptions)
        {
            return .direct
        }
        return try tunnel(text, variable: variable)
    }

    /// Loopback and link-local addresses, and the AWS IPv6 metadata and container endpoints.
    package static func isNeverProxied(host rawHost: String) -> Bool {
        let host = bare(rawHost)
        if EndpointPolicy.isLoopback(host: host) { return true }
        if let v4 = ipv4(host) { return v4 >> 16 == 0xA9FE }
        if let v6 = ipv6(host) {
            if v6[0] == 0xFE && v6[1] & 0xC0 == 0x80 { return true }
            return v6 == ipv6("fd00:ec2::254")! || v6 == ipv6("fd00:ec2::23")!
        }
        return false
    }

    static func isExempt(host rawHost: String, port: Int, noProxy: String) -> Bool {
        let host = bare(rawHost)
        let entries = noProxy.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
        for rawEntry in entries {
            var entry = rawEntry.lowercased()
            if entry == "*" { return true }
            var entryPort: Int?
            if entry.hasPrefix("[") {
                // [v6]:port or [v6]
                guard let close = entry.firstIndex(of: "]") else { continue }
                let rest = entry[entry.index(after: close)...]
                if rest.hasPrefix(":") { entryPort = Int(rest.dropFirst()) }
                entry = String(entry[entry.index(after: entry.startIndex)..<close])
            } else if entry.filter({ $0 == ":" }).count == 1, let colon = entry.lastIndex(of: ":") {
                entryPort = Int(entry[entry.index(after: colon)...])
                entry = String(entry[..<colon])
            }
            if let entryPort, entryPort != port { continue }
            if entry.hasSuffix(".") { entry.removeLast() }
            if entry.isEmpty { continue }
            if let slash = entry.firstIndex(of: "/") {
                if let address = ipv4(host), let base = ipv4(String(entry[..<slash])),
                    let bits = Int(entry[entry.index(after: slash)...]), (0...32).contains(bits)
                {
                    let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
                    if address & mask == base & mask { return true }
                }
                continue
            }
            if let a = ipv6(entry), let b = ipv6(host) {
                if a == b { return true }
                continue
            }
            if entry.hasPrefix(".") {
                if host.hasSuffix(entry) { return true }
            } else if host == entry || host.hasSuffix("." + entry) {
                return true
            }
        }
        return false
    }

    /// The proxy URL with an explicit port (libcurl's default is 1080 for every scheme), checked to be a
    /// proxy we can use; the message names the variable and at most the proxy's host.
    static func tunnel(_ text: String, variable: String) throws -> ProxyRoute {
        let withScheme = text.contains("://") ? text : "http://" + text
        guard var components = URLComponents(string: withScheme), let host = components.host, !host.isEmpty,
            let scheme = components.scheme?.lowercased()
        else {
            throw Misconfigured(message: "\(variable) is not a proxy URL (expected http://host:port)")
        }
        let defaultPorts = ["http": 80, "https": 443, "socks5": 1080, "socks5h": 1080]
        guard let defaultPort = defaultPorts[scheme] else {
            throw Misconfigured(message: "\(variable) names a '\(scheme)' proxy at \(host); use http://, https:// or socks5://")
        }
        let port = components.port ?? defaultPort
        components.port = port
        components.path = ""
        guard let url = components.string else {
            throw Misconfigured(message: "\(variable) is not a proxy URL (expected http://host:port)")
        }
        let display = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return .tunnel(url: url, display: display, variable: variable)
    }

    private static func first(_ names: [String], in environment: [String: String]) -> (variable: String, value: String)? {
        for name in names {
            if let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { return (name, value) }
        }
        return nil
    }

    private static func bare(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }

    private static func ipv4(_ text: String) -> UInt32? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return UInt32(bigEndian: address.s_addr)
    }

    private static func ipv6(_ text: String) -> [UInt8]? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}
