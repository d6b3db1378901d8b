import Foundation
import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsKit

/// Every case of the AWS SigV4 test suite (botocore's copy, vendored in Fixtures/sigv4 with its Apache 2.0
/// LICENSE, NOTICE and a README saying where it came from): the canonical request, the string to sign and
/// the Authorization header must match byte for byte.
final class SigV4VectorTests: XCTestCase {
    static let vectorsDirectory: URL = {
        // Beside this file; excluded from the target's sources in Package.swift.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sigv4").standardizedFileURL
    }()

    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
    static let secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let vanillaToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

    /// Folders holding a `<name>.req`, relative to the vectors folder.
    func caseFolders() throws -> [String] {
        let root = Self.vectorsDirectory
        var cases: [String] = []
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            if url.pathExtension == "req" {
                let folder = url.deletingLastPathComponent()
                XCTAssertEqual(folder.lastPathComponent, url.deletingPathExtension().lastPathComponent)
                cases.append(String(folder.standardizedFileURL.path.dropFirst(root.path.count + 1)))
            }
        }
        return cases.sorted()
    }

    func read(_ folder: String, _ ext: String) throws -> String {
        let name = (folder as NSString).lastPathComponent
        let url = Self.vectorsDirectory.appendingPathComponent(folder).appendingPathComponent("\(name).\(ext)")
        return String(decoding: try Data(contentsOf: url), as: UTF8.self)
    }

    struct RawRequest {
        var method: String
        var path: String
        var query: String
        var headers: [(String, String)]
        var body: Data
    }

    /// Parses a `.req`: the request line (the path may hold a raw space or UTF-8), headers with folded
    /// continuation lines, a blank line and the body.
    func parse(_ text: String) throws -> RawRequest {
        let head: Substring, body: Substring
        if let range = text.range(of: "\n\n") {
            head = text[..<range.lowerBound]
            body = text[range.upperBound...]
        } else {
            head = Substring(text)
            body = ""
        }
        var lines = head.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let requestLine = lines.removeFirst()
        guard let firstSpace = requestLine.firstIndex(of: " "),
            let lastSpace = requestLine.lastIndex(of: " "), firstSpace < lastSpace
        else { throw TestFailure("bad request line \(requestLine)") }
        let method = String(requestLine[..<firstSpace])
        let target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
        var path = target, query = ""
        if let question = target.firstIndex(of: "?") {
            path = String(target[..<question])
            query = String(target[target.index(after: question)...])
        }
        var headers: [(String, String)] = []
        for line in lines {
            if line.first == " " || line.first == "\t" {
                guard !headers.isEmpty else { throw TestFailure("continuation line first") }
                headers[headers.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
            } else {
                guard let colon = line.firstIndex(of: ":") else { throw TestFailure("bad header \(line)") }
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        return RawRequest(method: method, path: path, query: query, headers: headers, body: Data(body.utf8))
    }

    func testAllThirtyFourCasesMatch() throws {
        let cases = try caseFolders()
        XCTAssertEqual(cases.count, 34, "expected the 34 cases of the suite, found \(cases)")
        let longToken = try stsTokenFromReadme()
        for folder in cases {
            let name = (folder as NSString).lastPathComponent
            let request = try parse(try read(folder, "req"))
            var token: String?
            var signsToken = true
            switch name {
            case "get-vanilla-with-session-token": token = Self.vanillaToken
            case "post-sts-header-before": token = longToken
            case "post-sts-header-after": token = longToken; signsToken = false
            default: break
            }
            let signer = SigV4Signer(
                credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: Self.secretKey, sessionToken: token),
                region: "us-east-1", service: "service", signsSessionToken: signsToken)
            let (signature, sent) = signer.sign(
                method: request.method, path: request.path, query: request.query, headers: request.headers,
                payloadHash: SigV4Signer.hexSHA256(request.body), date: Self.date)
            XCTAssertEqual(signature.canonicalRequest, try read(folder, "creq"), "\(folder): canonical request")
            XCTAssertEqual(signature.stringToSign, try read(folder, "sts"), "\(folder): string to sign")
            XCTAssertEqual(signature.authorization, try read(folder, "authz"), "\(folder): Authorization")
            XCTAssertEqual(sent.last?.0, "Authorization")
            if token != nil {
                XCTAssertEqual(sent.filter { $0.0.lowercased() == "x-amz-security-token" }.map(\.1), [token!],
                    "\(folder): the token is sent once")
            }
        }
    }

    func stsTokenFromReadme() throws -> String {
        let readme = String(decoding: try Data(contentsOf: Self.vectorsDirectory
            .appendingPathComponent("post-sts-token/readme.txt")), as: UTF8.self)
        guard let line = readme.split(separator: "\n").last(where: { $0.hasPrefix("AQoDYXdz") }) else {
            throw TestFailure("no token in post-sts-token/readme.txt")
        }
        return line.trimmingCharacters(in: .whitespaces)
    }

    func testSignsARequestByURLWithHostAndPort() throws {
        var request = HTTPRequest(
            method: "POST", url: URL(string: "http://127.0.0.1:5123/")!,
            headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "secretsmanager.ListSecrets")],
            body: Data("{}".utf8))
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: Self.secretKey, sessionToken: "tok"),
            region: "us-east-1", service: "secretsmanager")
        let signature = signer.sign(&request, date: Self.date)
        XCTAssertEqual(signature.signedHeaders, "content-type;host;x-amz-date;x-amz-security-token;x-amz-target")
        XCTAssertTrue(signature.canonicalRequest.contains("\nhost:127.0.0.1:5123\n"))
        XCTAssertFalse(request.headers.contains { $0.0 == "Host" }, "URLSession sets Host itself")
        XCTAssertFalse(signature.authorization.contains(Self.secretKey))
        XCTAssertFalse("\(signer.credentials)".contains(Self.secretKey))
        // Signing twice replaces, never duplicates, the date, token and Authorization.
        signer.sign(&request, date: Self.date)
        XCTAssertEqual(request.headers.filter { $0.0 == "Authorization" }.count, 1)
        XCTAssertEqual(request.headers.filter { $0.0 == "X-Amz-Security-Token" }.count, 1)
        XCTAssertEqual(request.headers.filter { $0.0 == "X-Amz-Date" }.count, 1)
    }

    func testAmzDateIsUTCWithZeroPaddedFieldsAndNoFraction() {
        XCTAssertEqual(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_000_000_000.9)), "20010909T014640Z")
        XCTAssertEqual(SigV4Signer.amzDate(Date(timeIntervalSince1970: 4_102_444_799)), "20991231T235959Z")
        XCTAssertEqual(SigV4Signer.uriEncode("a b/é~"), "a%20b%2F%C3%A9~")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
