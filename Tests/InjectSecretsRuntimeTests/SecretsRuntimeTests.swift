import Foundation
import TestSupport
import XCTest
@testable import InjectSecretsRuntime

/// What the runtime does before and after talking to the extension; the extension itself is exercised
/// against the stand-in in AWSProviderTests/RuntimeExtensionTests.
final class SecretsRuntimeTests: XCTestCase {
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
    let versionId = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
    var pinned: String { "inject-secrets:ref:v1 secretsmanager \(arn) version=\(versionId)" }

    func testAPlainValueIsReturnedAsItIsWithoutTheExtension() async throws {
        let canary = Canary("plain")
        // No token and no extension: a plain value never needs either.
        let runtime = SecretsRuntime(environment: ["DB_PASSWORD": canary.value, "EMPTY": ""])
        let value = try await runtime.value(forVariable: "DB_PASSWORD")
        XCTAssertTrue(value == canary.value, "the value differs (not shown: it is a canary)")
        let empty = try await runtime.value(forVariable: "EMPTY")
        XCTAssertEqual(empty, "")
    }

    func testUnsetVariableAndBrokenReferenceSayWhich() async {
        let runtime = SecretsRuntime(environment: [
            "BROKEN": "inject-secrets:ref:v1 secretsmanager \(arn)", "AWS_SESSION_TOKEN": "t",
        ])
        await assertThrows(try await runtime.value(forVariable: "MISSING"), .variableNotSet("MISSING"))
        await assertThrows(try await runtime.value(forVariable: "BROKEN"), .badReference(variable: "BROKEN", .missingVersion))
    }

    func testAReferenceWithoutASessionTokenSaysSo() async {
        let runtime = SecretsRuntime(environment: ["DB": pinned])
        await assertThrows(try await runtime.value(forVariable: "DB"), .noSessionToken)
    }

    func testExtensionAbsentNamesTheLayerToAdd() async throws {
        let port = try freePort()
        let runtime = SecretsRuntime(environment: [
            "DB": pinned, "AWS_SESSION_TOKEN": "t", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": String(port),
        ])
        do {
            _ = try await runtime.value(forVariable: "DB")
            XCTFail("no error without an extension")
        } catch let error as SecretsRuntimeError {
            guard case .extensionNotReachable(let reported, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reported, port)
            XCTAssertTrue(error.description.contains("layer:AWS-Parameters-and-Secrets-Lambda-Extension"), error.description)
        }
    }

    func testFieldsOfAJSONSecret() throws {
        let canary = Canary("field")
        let raw = #"{"password": "\#(canary.value)", "port": 5432, "ratio": 0.25, "tls": true, "tags": ["a"], "none": null}"#
        XCTAssertTrue(try SecretsRuntime.field("password", of: raw, arn: arn) == canary.value, "the value differs (not shown: it is a canary)")
        XCTAssertEqual(try SecretsRuntime.field("port", of: raw, arn: arn), "5432")
        XCTAssertEqual(try SecretsRuntime.field("ratio", of: raw, arn: arn), "0.25")
        XCTAssertEqual(try SecretsRuntime.field("tls", of: raw, arn: arn), "true")
        XCTAssertEqual(try SecretsRuntime.field("tags", of: raw, arn: arn), #"["a"]"#)
        for (key, raw, expected) in [
            ("user", raw, SecretsRuntimeError.noSuchKey(arn: arn, key: "user")),
            ("none", raw, .noSuchKey(arn: arn, key: "none")),
            ("password", canary.value, .notJSON(arn: arn, key: "password")),
            ("password", #"["\#(canary.value)"]"#, .notJSON(arn: arn, key: "password")),
        ] {
            XCTAssertThrowsError(try SecretsRuntime.field(key, of: raw, arn: arn)) { error in
                XCTAssertEqual(error as? SecretsRuntimeError, expected)
                XCTAssertFalse(String(describing: error).contains(canary.value))
            }
        }
    }

    /// The extension relays the store's status and AWS error code; each maps to what to fix.
    func testErrorAnswersMapToWhatToFix() throws {
        let client = ParametersSecretsExtension(port: 2773, token: "t", timeout: 1, maximumResponseBytes: 1000)
        let secret = try RuntimeReference(parsing: pinned)
        let parameter = try RuntimeReference(
            parsing: "inject-secrets:ref:v1 ssm arn:aws:ssm:us-east-1:123456789012:parameter/app/token version=3")
        func body(_ code: String) -> Data { Data(#"{"__type": "\#(code)", "message": "m"}"#.utf8) }
        let cases: [(Int, Data, RuntimeReference, SecretsRuntimeError)] = [
            (400, body("AccessDeniedException"), secret, .accessDenied(action: "secretsmanager:GetSecretValue", arn: secret.arn)),
            (403, Data(), parameter, .accessDenied(action: "ssm:GetParameter", arn: parameter.arn)),
            (400, body("com.amazonaws.kms#KMSAccessDeniedException"), parameter, .decryptDenied(arn: parameter.arn)),
            (400, body("DecryptionFailure"), secret, .decryptDenied(arn: secret.arn)),
            (400, body("ResourceNotFoundException"), secret, .versionNotFound(arn: secret.arn, version: versionId)),
            (400, body("ParameterVersionNotFound"), parameter, .versionNotFound(arn: parameter.arn, version: "3")),
            (401, Data("Unauthorized".utf8), secret, .tokenRefused(status: 401)),
            (500, body("InternalServiceError"), secret, .extensionError(status: 500, code: "InternalServiceError", arn: secret.arn)),
        ]
        for (status, data, reference, expected) in cases {
            XCTAssertEqual(client.failure(status: status, body: data, reference: reference), expected)
        }
    }

    func testQueriesFollowTheDocumentedPaths() throws {
        let client = ParametersSecretsExtension(port: 2773, token: "t", timeout: 1, maximumResponseBytes: 1000)
        let stage = try RuntimeReference(store: .secretsManager, arn: arn, selector: .stage("AWSCURRENT"))
        XCTAssertEqual(
            client.url(for: stage).absoluteString,
            "http://localhost:2773/secretsmanager/get?secretId=arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A123456789012%3Asecret%3Aprod%2Fdb-AbCdEf&versionStage=AWSCURRENT")
        let pinnedSecret = try RuntimeReference(parsing: pinned)
        XCTAssertTrue(client.url(for: pinnedSecret).absoluteString.hasSuffix("&versionId=\(versionId)"))
        let parameter = try RuntimeReference(
            store: .ssm, arn: "arn:aws:ssm:us-east-1:123456789012:parameter/app/token", selector: .version("3"))
        XCTAssertEqual(
            client.url(for: parameter).absoluteString,
            "http://localhost:2773/systemsmanager/parameters/get?name=arn%3Aaws%3Assm%3Aus-east-1%3A123456789012%3Aparameter%2Fapp%2Ftoken&version=3&withDecryption=true")
    }

    private func assertThrows(
        _ expression: @autoclosure () async throws -> String, _ expected: SecretsRuntimeError,
        file: StaticString = #filePath, line: UInt = #line
    ) async {
        do {
            _ = try await expression()
            XCTFail("no error", file: file, line: line)
        } catch {
            XCTAssertEqual(error as? SecretsRuntimeError, expected, file: file, line: line)
        }
    }
}

/// The loopback HTTP reader's framing and bounds.
final class LoopbackExchangeTests: XCTestCase {
    func answer(_ text: String) -> Data { Data(text.utf8) }

    func testFramings() throws {
        let sized = try LoopbackExchange.parse(answer("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{}{}extra"), limit: 100)
        XCTAssertEqual(sized.0, 200)
        XCTAssertEqual(String(decoding: sized.1, as: UTF8.self), "{}{}")
        let chunked = try LoopbackExchange.parse(
            answer("HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"), limit: 100)
        XCTAssertEqual(chunked.0, 400)
        XCTAssertEqual(String(decoding: chunked.1, as: UTF8.self), "abcde")
        let untilClose = try LoopbackExchange.parse(answer("HTTP/1.0 404 Not Found\r\n\r\nnope"), limit: 100)
        XCTAssertEqual(untilClose.0, 404)
        XCTAssertEqual(String(decoding: untilClose.1, as: UTF8.self), "nope")
    }

    func testBrokenAndOversizedAnswersAreRefused() {
        XCTAssertThrowsError(try LoopbackExchange.parse(answer("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"), limit: 100))
        XCTAssertThrowsError(try LoopbackExchange.parse(answer("HTTP/1.1 200 OK\r\nContent-Length: 3"), limit: 100))
        XCTAssertThrowsError(try LoopbackExchange.parse(answer("SSH-2.0\r\n\r\n"), limit: 100))
        XCTAssertThrowsError(try LoopbackExchange.parse(answer("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"), limit: 100))
        XCTAssertThrowsError(try LoopbackExchange.parse(answer("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "x", count: 101)), limit: 100)) {
            XCTAssertEqual($0 as? SecretsRuntimeError, .responseTooLarge(limit: 100))
        }
    }

    func testATokenWithALineBreakIsNeverSent() {
        let exchange = LoopbackExchange(
            port: 1, target: "/", headers: [("X-Aws-Parameters-Secrets-Token", "a\r\nX-Evil: 1")], timeout: 1,
            maximumBodyBytes: 10)
        XCTAssertThrowsError(try exchange.request())
    }
}
