import Foundation
import XCTest

@testable import InjectSecretsAWS
@testable import InjectSecretsKit

/// IMDS's retries on the one retry loop, on a scripted transport: what botocore asks again for (a
/// failing token request, a 200 with an empty body, credentials that are not JSON) is asked again up to
/// `AWS_METADATA_SERVICE_NUM_ATTEMPTS` times, and no more.
final class MetadataRetryTests: XCTestCase {
    func answer(_ status: Int, _ body: String) -> ScriptedTransport.Step {
        .respond(HTTPResponse(status: status, headers: [:], body: Data(body.utf8)))
    }

    let credentials = """
        {"Code": "Success", "AccessKeyId": "ASIARETRY", "SecretAccessKey": "retry-secret", "Token": "retry-session",
         "Expiration": "2099-01-01T00:00:00Z"}
        """

    func imds(_ script: ScriptedTransport, attempts: Int) -> InstanceMetadataCredentials {
        InstanceMetadataCredentials(
            baseURL: "http://127.0.0.1:9", timeout: 1, attempts: attempts, v1Disabled: false,
            client: HTTPClient(transport: script, proxyEnvironment: [:]))
    }

    func testUnusableAnswersAreAskedAgainWithinTheAttempts() async throws {
        let script = ScriptedTransport([
            answer(500, ""), answer(200, "session-token"),
            answer(200, ""), answer(200, "web-role\n"),
            answer(200, "{not json"), answer(200, credentials),
        ])
        guard case .credentials(let found) = try await imds(script, attempts: 2).fetch() else {
            return XCTFail("expected credentials after the retries")
        }
        XCTAssertEqual(found.accessKeyId, "ASIARETRY")
        let sent = script.sent.map { "\($0.request.method) " + $0.request.url.absoluteString.dropFirst("http://127.0.0.1:9".count) }
        XCTAssertEqual(sent, [
            "PUT /latest/api/token", "PUT /latest/api/token",
            "GET /latest/meta-data/iam/security-credentials/", "GET /latest/meta-data/iam/security-credentials/",
            "GET /latest/meta-data/iam/security-credentials/web-role",
            "GET /latest/meta-data/iam/security-credentials/web-role",
        ])
        XCTAssertEqual(script.sent.last?.request.headers.first { $0.0 == "X-aws-ec2-metadata-token" }?.1, "session-token")
    }

    func testOneAttemptTakesTheFirstAnswer() async throws {
        let script = ScriptedTransport([answer(200, "session-token"), answer(200, ""), answer(200, "web-role")])
        guard case .unavailable(let why) = try await imds(script, attempts: 1).fetch() else {
            return XCTFail("an empty role list with one attempt gives no credentials")
        }
        XCTAssertTrue(why.contains("gave no instance role"), why)
        XCTAssertEqual(script.sent.count, 2)
    }

    func testARefusedTokenIsNotAskedAgain() async throws {
        let script = ScriptedTransport([answer(405, ""), answer(200, "v1-role"), answer(200, credentials)])
        guard case .credentials = try await imds(script, attempts: 3).fetch() else {
            return XCTFail("405 falls back to IMDSv1")
        }
        XCTAssertEqual(script.sent.map(\.request.method), ["PUT", "GET", "GET"])
        XCTAssertFalse(script.sent.contains { $0.request.headers.contains { $0.0 == "X-aws-ec2-metadata-token" } })
    }
}
