import Foundation
import InjectSecretsKit

/// The one exception to the rule that plain HTTP goes only to loopback, and how narrow it is.
///
/// AWS serves instance and container credentials over plain HTTP on link-local addresses that never
/// leave the host: the packet cannot be routed, so there is no network to cross in clear. The exception
/// covers exactly those addresses and only the credential code reaches them:
/// - IMDS: `169.254.169.254` and `[fd00:ec2::254]`;
/// - container credentials: `169.254.170.2` (ECS), `169.254.170.23` and `[fd00:ec2::23]` (EKS Pod Identity),
///   the allow-list of botocore's `ContainerMetadataFetcher` for `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
/// Every other URL, including an `AWS_EC2_METADATA_SERVICE_ENDPOINT` override, goes through the ordinary
/// `EndpointPolicy` (HTTPS, or HTTP to loopback). `EndpointPolicy` itself is unchanged.
enum AWSCredentialEndpoint {
    static let instanceMetadataHosts: Set<String> = ["169.254.169.254", "fd00:ec2::254"]
    static let containerHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]

    enum Kind { case instanceMetadata, container }

    /// Throws `EndpointPolicy.Violation` unless `url` is allowed for `kind`.
    static func check(_ url: URL, kind: Kind) throws {
        if url.scheme?.lowercased() == "http", let host = url.host.map(normalized) {
            let allowed = kind == .instanceMetadata ? instanceMetadataHosts : containerHosts
            if allowed.contains(host) { return }
        }
        try EndpointPolicy.check(url)
    }

    static func normalized(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }

    /// Sends `request` after `check`, with its own timeout.
    static func send(
        _ request: HTTPRequest, kind: Kind, timeout: TimeInterval, client: HTTPClient
    ) async throws -> HTTPResponse {
        try check(request.url, kind: kind)
        return try await client.transmit(request, timeout: timeout)
    }
}

/// Parses the timestamps that credential sources send: ISO-8601 / RFC 3339 in UTC or with an offset,
/// with or without fractional seconds (`2026-11-29T12:00:00Z`, `2026-11-29T12:00:00.123456+00:00`).
func parseAWSTimestamp(_ text: String) -> Date? {
    let text = text.trimmingCharacters(in: .whitespaces)
    let scalars = Array(text.utf8)
    func number(_ from: Int, _ count: Int) -> Int? {
        guard from + count <= scalars.count else { return nil }
        var value = 0
        for byte in scalars[from..<from + count] {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }
    // YYYY-MM-DDTHH:MM:SS
    guard scalars.count >= 19, scalars[4] == 45, scalars[7] == 45, scalars[10] == 84 || scalars[10] == 116 || scalars[10] == 32,
        scalars[13] == 58, scalars[16] == 58,
        let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
        let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
    else { return nil }
    var index = 19
    var fraction = 0.0
    if index < scalars.count && scalars[index] == 46 {  // '.'
        index += 1
        var scale = 0.1
        let start = index
        while index < scalars.count, scalars[index] >= 48 && scalars[index] <= 57 {
            fraction += Double(scalars[index] - 48) * scale
            scale /= 10
            index += 1
        }
        if index == start { return nil }
    }
    var offset = 0
    if index == scalars.count {
        offset = 0  // no zone: botocore's parser takes it as UTC for these sources
    } else if scalars[index] == 90 || scalars[index] == 122 {  // Z
        guard index + 1 == scalars.count else { return nil }
    } else if scalars[index] == 43 || scalars[index] == 45 {  // + -
        let sign = scalars[index] == 43 ? 1 : -1
        guard let hours = number(index + 1, 2) else { return nil }
        var minutes = 0
        if index + 3 < scalars.count {
            let at = scalars[index + 3] == 58 ? index + 4 : index + 3
            guard let m = number(at, 2), at + 2 == scalars.count else { return nil }
            minutes = m
        } else if index + 3 != scalars.count {
            return nil
        }
        offset = sign * (hours * 3600 + minutes * 60)
    } else {
        return nil
    }
    var components = DateComponents()
    components.calendar = Calendar(identifier: .gregorian)
    components.timeZone = TimeZone(secondsFromGMT: 0)
    components.year = year
    components.month = month
    components.day = day
    components.hour = hour
    components.minute = minute
    components.second = second
    guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61,
        let date = components.date
    else { return nil }
    return date.addingTimeInterval(fraction - Double(offset))
}

/// The start of a reply body as `RelayedText.line`, for an error message, with `secrets` removed before
/// it is cut (a cut could leave half a token).
func excerpt(_ data: Data, hiding secrets: [String?] = []) -> String {
    RelayedText.line(
        RunRedactor.scrub(String(decoding: data.prefix(RelayedText.maxCharacters * 4), as: UTF8.self), hiding: secrets))
}
