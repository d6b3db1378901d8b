import Foundation
import InjectSecretsKit

/// AWS Signature Version 4 for header-signed requests (the form Secrets Manager and SSM use).
///
/// Canonicalization follows the AWS test suite: the path is normalized (`.`/`..` removed, repeated `/`
/// collapsed) and each segment percent-encoded once; query pairs are decoded, re-encoded and sorted by
/// key then value; header names are lowercased, values trimmed with inner runs of whitespace collapsed,
/// repeated headers joined with `,` in order. The payload hash goes into the canonical request only
/// (no `x-amz-content-sha256` header, as botocore does for these services).
package struct SigV4Signer: Sendable {
    package static let algorithm = "AWS4-HMAC-SHA256"

    package var credentials: AWSCredentials
    package var region: String
    package var service: String
    /// Whether the session token is part of the signature (`X-Amz-Security-Token` added before signing,
    /// as Secrets Manager, SSM and STS expect) or appended only after signing.
    package var signsSessionToken: Bool

    package init(credentials: AWSCredentials, region: String, service: String, signsSessionToken: Bool = true) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.signsSessionToken = signsSessionToken
    }

    /// The pieces of one signature, exposed for tests and for diagnosing a refused signature. None holds
    /// the secret key; the canonical request holds the session token only as a signed header value, so
    /// it must not be logged either.
    package struct Signature: Sendable {
        package var canonicalRequest: String
        package var stringToSign: String
        package var signedHeaders: String
        package var signature: String
        package var authorization: String
    }

    /// Signs `request` in place: sets `X-Amz-Date` (replacing any), the session token header when there
    /// is a token, and `Authorization`. `Host` is signed from the URL (the transport sends the same value).
    @discardableResult
    package func sign(_ request: inout HTTPRequest, date: Date = Date()) -> Signature {
        var headers = request.headers.filter { $0.0.lowercased() != "authorization" }
        let addsHost = !headers.contains { $0.0.lowercased() == "host" }
        if addsHost { headers.append(("Host", Self.hostHeader(for: request.url))) }
        let components = URLComponents(url: request.url, resolvingAgainstBaseURL: false)
        let path = components?.percentEncodedPath ?? "/"
        let query = components?.percentEncodedQuery ?? ""
        let (result, sent) = sign(
            method: request.method, path: path, query: query, headers: headers,
            payloadHash: Self.hexSHA256(request.body), date: date)
        request.headers = sent.filter { !(addsHost && $0.0 == "Host") }
        return result
    }

    /// Signs a request given as its wire parts: `path` and `query` as they appear in the request line
    /// (`query` without `?`). Adds `X-Amz-Date` (replacing any) and the session token header, and returns
    /// the signature with the headers to send (`Authorization` last).
    package func sign(
        method: String, path: String, query: String, headers: [(String, String)], payloadHash: String, date: Date
    ) -> (Signature, [(String, String)]) {
        var headers = headers.filter {
            let name = $0.0.lowercased()
            return name != "x-amz-date" && name != "authorization"
                && !(credentials.sessionToken != nil && name == "x-amz-security-token")
        }
        headers.append(("X-Amz-Date", Self.amzDate(date)))
        if let token = credentials.sessionToken, signsSessionToken {
            headers.append(("X-Amz-Security-Token", token))
        }
        let result = signature(
            method: method, path: path, query: query, headers: headers, payloadHash: payloadHash, date: date)
        if let token = credentials.sessionToken, !signsSessionToken {
            headers.append(("X-Amz-Security-Token", token))
        }
        headers.append(("Authorization", result.authorization))
        return (result, headers)
    }

    /// Computes the signature over exactly `headers` (which must include `Host` and `X-Amz-Date`).
    package func signature(
        method: String, path: String, query: String, headers: [(String, String)], payloadHash: String, date: Date
    ) -> Signature {
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            method.uppercased(),
            Self.canonicalURI(path),
            Self.canonicalQuery(query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let amzDate = Self.amzDate(date)
        let dateStamp = String(amzDate.prefix(8))
        let scope = "\(dateStamp)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            Self.algorithm, amzDate, scope, Self.hexSHA256(Data(canonicalRequest.utf8)),
        ].joined(separator: "\n")
        let key = signingKey(dateStamp: dateStamp)
        let signature = SHA256.hmac(key: key, message: Data(stringToSign.utf8)).lowercaseHex
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders,
            signature: signature, authorization: authorization)
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
    func signingKey(dateStamp: String) -> [UInt8] {
        var key = Array(("AWS4" + credentials.secretAccessKey).utf8)
        for part in [dateStamp, region, service, "aws4_request"] {
            key = SHA256.hmac(key: key, message: Data(part.utf8))
        }
        return key
    }

    // MARK: Canonical forms

    /// Normalizes the path (non-S3 services) and percent-encodes each segment once.
    static func canonicalURI(_ path: String) -> String {
        if path.isEmpty { return "/" }
        var stack: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = stack.popLast()
            default: stack.append(segment)
            }
        }
        var result = "/" + stack.map { uriEncode(String($0)) }.joined(separator: "/")
        if path.hasSuffix("/") && result != "/" { result += "/" }
        return result
    }

    /// Decodes each `key=value` pair, re-encodes it with the SigV4 rules and sorts by key, then value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let rawValue = parts.count > 1 ? String(parts[1]) : ""
            let value = rawValue.removingPercentEncoding ?? rawValue
            pairs.append((uriEncode(key), uriEncode(value)))
        }
        pairs.sort { lhs, rhs in
            lhs.0 != rhs.0 ? lhs.0.utf8.lexicographicallyPrecedes(rhs.0.utf8)
                : lhs.1.utf8.lexicographicallyPrecedes(rhs.1.utf8)
        }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// The canonical header block (each line ending in a newline) and the signed-header list.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (String, String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            values[name.lowercased(), default: []].append(trimAndCollapse(value))
        }
        let names = values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let block = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// Trims the value and collapses every inner run of whitespace (folded lines included) to one space.
    static func trimAndCollapse(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            .joined(separator: " ")
    }

    /// RFC 3986 encoding of everything except the unreserved characters `A-Z a-z 0-9 - . _ ~`.
    static func uriEncode(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + [byte].lowercaseHex.uppercased()
            }
        }
        return result
    }

    /// The `Host` header value the transport sends: the host, and the port when it is not the scheme's default.
    static func hostHeader(for url: URL) -> String {
        var host = url.host ?? ""
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        guard let port = url.port else { return host }
        let scheme = url.scheme?.lowercased()
        if (scheme == "https" && port == 443) || (scheme == "http" && port == 80) { return host }
        return "\(host):\(port)"
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC, from the calendar fields directly: a DateFormatter is built
    /// on ICU and costs more than the rest of the signature.
    static func amzDate(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var fields = tm()
        gmtime_r(&seconds, &fields)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return pad(fields.tm_year + 1900, 4) + pad(fields.tm_mon + 1, 2) + pad(fields.tm_mday, 2) + "T"
            + pad(fields.tm_hour, 2) + pad(fields.tm_min, 2) + pad(fields.tm_sec, 2) + "Z"
    }

    static func hexSHA256(_ data: Data) -> String {
        SHA256.hash(data).lowercaseHex
    }
}
