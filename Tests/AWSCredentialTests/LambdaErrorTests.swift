import Foundation
import TestSupport
import XCTest

@testable import InjectSecretsAWS
@testable import InjectSecretsKit

/// Lambda's errors about an environment update can quote the environment sent ("String measured:
/// {...}" in its 4 KB error): they are relayed by code only. Other calls relay one bounded line.
final class LambdaErrorTests: XCTestCase {
    func testTheSizeErrorOfAnUpdateIsNeverRelayed() async throws {
        let canary = Canary("lambda-env").value
        let sizeError: [String: Any] = [
            "status": 400, "type": "application/json",
            "body": [
                "__type": "InvalidParameterValueException",
                "message": "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {\"DB\":\"\(canary)\"}",
            ],
        ]
        let server = try ScriptedServer(routes: [
            "PUT /2015-03-31/functions/fn/configuration": sizeError,
            "GET /2015-03-31/functions/fn/configuration": sizeError,
        ])
        defer { server.stop() }
        let client = try LambdaClient(region: "eu-west-1", environment: [
            "AWS_ENDPOINT_URL_LAMBDA": server.baseURL, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-example",
            "AWS_MAX_ATTEMPTS": "1",
        ], http: HTTPClient(timeout: 10))
        do {
            _ = try await client.updateEnvironment(of: "fn", to: ["DB": canary])
            XCTFail("the update succeeded")
        } catch let failure as LambdaClient.Failure {
            XCTAssertEqual(failure.code, "InvalidParameterValueException")
            XCTAssertFalse(failure.message.contains(canary), failure.message)
            XCTAssertFalse(failure.message.contains("String measured"), failure.message)
            XCTAssertTrue(failure.message.contains("Lambda's message is not shown"), failure.message)
        }
        // A call whose request holds no value relays Lambda's message, as one bounded line.
        do {
            _ = try await client.configuration(of: "fn")
            XCTFail("the read succeeded")
        } catch let failure as LambdaClient.Failure {
            XCTAssertTrue(failure.message.contains("exceeded the 4KB limit"), failure.message)
            XCTAssertLessThanOrEqual(failure.message.count, RelayedText.maxCharacters + 60)
        }
    }
}

/// The chain tells the run which secret key and token it holds, so that the engine can remove them from
/// any store's message; it fetches nothing to answer.
final class CredentialsInUseTests: XCTestCase {
    func testTheChainReportsTheProfilesKeysOnceChosen() async throws {
        let secret = Canary("aws-secret").value, token = Canary("aws-token").value
        let home = try AWSHome(credentials: """
            [default]
            aws_access_key_id = AKIDEXAMPLE
            aws_secret_access_key = \(secret)
            aws_session_token = \(token)
            """)
        defer { home.remove() }
        let chain = AWSEnvironment(variables: home.variables).credentialSource(client: HTTPClient(timeout: 5))
        let before = await chain.credentialsInUse()
        XCTAssertEqual(before, [], "nothing is resolved before the first use")
        _ = try await chain.credentials()
        let inUse = await chain.credentialsInUse()
        XCTAssertEqual(Set(inUse), [secret, token])
    }
}
