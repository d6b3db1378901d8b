import Foundation
import TestSupport
import XCTest

@testable import InjectSecretsAWS
@testable import InjectSecretsKit

/// The one AWS core: every service the tool calls finds its endpoint, FIPS host, partition and errors
/// the same way, and the Lambda client retries through the one loop. In-process, on a scripted transport.
final class AWSServiceTests: XCTestCase {
    let keys = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-example"]

    func testFIPSIsHonouredByEveryServiceFromTheEnvironmentOrTheProfile() throws {
        let fromEnvironment = AWSEnvironment(variables: ["HOME": "/nonexistent", "AWS_USE_FIPS_ENDPOINT": "true"])
        let home = try AWSHome(config: "[default]\nuse_fips_endpoint = true\n")
        defer { home.remove() }
        for environment in [fromEnvironment, home.environment()] {
            XCTAssertEqual(
                try AWSService.secretsManager.endpoint(region: "us-east-1", environment: environment).absoluteString,
                "https://secretsmanager-fips.us-east-1.amazonaws.com/")
            XCTAssertEqual(
                try AWSService.parameterStore.endpoint(region: "us-gov-west-1", environment: environment).absoluteString,
                "https://ssm-fips.us-gov-west-1.amazonaws.com/")
            XCTAssertEqual(
                STSClient.make(environment: environment, region: "us-east-2", client: HTTPClient(), signer: nil).endpoint,
                "https://sts-fips.us-east-2.amazonaws.com")
        }
        let lambda = try LambdaClient(region: "us-west-2", environment: keys.merging(["AWS_USE_FIPS_ENDPOINT": "true"]) { $1 })
        XCTAssertEqual(lambda.endpoint.absoluteString, "https://lambda-fips.us-west-2.amazonaws.com/")
        XCTAssertEqual(lambda.stsEndpoint.absoluteString, "https://sts-fips.us-west-2.amazonaws.com/")
        XCTAssertEqual(lambda.taggingEndpoint.absoluteString, "https://tagging.us-west-2.amazonaws.com/", "the Tagging API has no FIPS hosts")
        // The variable decides over the profile, as in the SDKs.
        var off = home.variables
        off["AWS_USE_FIPS_ENDPOINT"] = "false"
        XCTAssertEqual(
            try AWSService.secretsManager.endpoint(region: "us-east-1", environment: AWSEnvironment(variables: off)).absoluteString,
            "https://secretsmanager.us-east-1.amazonaws.com/")
    }

    func testAConfiguredEndpointIsUsedAsItIsEvenUnderFIPS() throws {
        let environment = AWSEnvironment(variables: [
            "HOME": "/nonexistent", "AWS_USE_FIPS_ENDPOINT": "true", "AWS_ENDPOINT_URL_SSM": "https://ssm.internal.example/prefix?x=1",
        ])
        XCTAssertEqual(
            try AWSService.parameterStore.endpoint(region: "eu-west-1", environment: environment).absoluteString,
            "https://ssm.internal.example/prefix")
        let plain = AWSEnvironment(variables: ["HOME": "/nonexistent", "AWS_ENDPOINT_URL": "http://ssm.example.com"])
        XCTAssertThrowsError(try AWSService.parameterStore.endpoint(region: "eu-west-1", environment: plain)) { error in
            XCTAssertTrue(error is EndpointPolicy.Violation, "\(error)")
        }
    }

    func testOnePartitionTableForHostsAndARNs() throws {
        XCTAssertEqual(AWSPartition.of(region: "cn-northwest-1").name, "aws-cn")
        XCTAssertEqual(AWSPartition.of(region: "us-gov-east-1").name, "aws-us-gov")
        XCTAssertEqual(AWSPartition.of(region: "us-iso-east-1").name, "aws-iso")
        XCTAssertEqual(AWSPartition.of(region: "us-isob-east-1").name, "aws-iso-b")
        XCTAssertEqual(AWSPartition.of(region: "eu-west-1").name, "aws")
        let lambda = try LambdaClient(region: "cn-north-1", environment: keys)
        XCTAssertEqual(lambda.endpoint.absoluteString, "https://lambda.cn-north-1.amazonaws.com.cn/")
        XCTAssertEqual(lambda.taggingEndpoint.absoluteString, "https://tagging.cn-north-1.amazonaws.com.cn/")
        XCTAssertEqual(lambda.arn(of: "fn", account: "123456789012"), "arn:aws-cn:lambda:cn-north-1:123456789012:function:fn")
        XCTAssertEqual(
            try LambdaClient(region: "us-gov-west-1", environment: keys).arn(of: "fn", account: "1"),
            "arn:aws-us-gov:lambda:us-gov-west-1:1:function:fn")
    }

    /// JSON, a header and query-style XML (entities decoded) read alike for every client.
    func testOneErrorReaderForEveryProtocol() {
        func answer(_ status: Int, _ body: String, _ headers: [String: String] = [:]) -> AWSErrorAnswer {
            AWSErrorAnswer(HTTPResponse(status: status, headers: headers, body: Data(body.utf8)))
        }
        var read = answer(400, #"{"Type":"User","__type":"com.amazon#TooManyRequestsException","message":"Rate"}"#)
        XCTAssertEqual(read.code, "TooManyRequestsException")
        XCTAssertEqual(read.message, "Rate")
        read = answer(400, "{}", ["x-amzn-errortype": "ResourceConflictException:http://internal/"])
        XCTAssertEqual(read.code, "ResourceConflictException")
        read = answer(403, "\n<ErrorResponse><Error><Code>AccessDenied</Code><Message>a &lt;b&gt; &amp; c</Message></Error></ErrorResponse>")
        XCTAssertEqual(read.code, "AccessDenied")
        XCTAssertEqual(read.message, "a <b> & c")
        read = answer(502, "Bad Gateway")
        XCTAssertNil(read.code)
        let failure = LambdaClient.failure(HTTPResponse(
            status: 403, headers: [:], body: Data("<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>".utf8)))
        XCTAssertEqual(failure.code, "AccessDenied")
        XCTAssertEqual(failure.kind, .accessDenied)
    }

    func scriptedLambda(_ steps: [ScriptedTransport.Step], attempts: Int = 5) throws -> (LambdaClient, ScriptedTransport) {
        let transport = ScriptedTransport(steps)
        var environment = keys
        environment["AWS_ENDPOINT_URL_LAMBDA"] = "https://lambda.test"
        environment["AWS_MAX_ATTEMPTS"] = String(attempts)
        let client = try LambdaClient(
            region: "eu-west-1", environment: environment, http: HTTPClient(timeout: 5, transport: transport, proxyEnvironment: [:]))
        return (client, transport)
    }

    static func json(_ status: Int, _ body: String, _ headers: [String: String] = [:]) -> ScriptedTransport.Step {
        .respond(HTTPResponse(status: status, headers: headers, body: Data(body.utf8)))
    }

    /// Another update in progress is waited out a second at a time, not backed off.
    func testAConflictingUpdateIsWaitedOutASecondAtATime() async throws {
        let conflict = Self.json(409, #"{"__type":"ResourceConflictException","message":"An update is in progress"}"#)
        let done = Self.json(200, #"{"FunctionArn":"arn:aws:lambda:eu-west-1:1:function:fn","LastUpdateStatus":"InProgress"}"#)
        let (client, transport) = try scriptedLambda([conflict, done])
        let start = Date()
        let configuration = try await client.updateEnvironment(of: "fn", to: ["A": "1"])
        XCTAssertEqual(configuration.arn, "arn:aws:lambda:eu-west-1:1:function:fn")
        XCTAssertEqual(transport.sent.count, 2)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.9, "a conflict waits a second")
    }

    func testThrottlingHonoursRetryAfterAndARefusalIsNotRetried() async throws {
        let throttled = Self.json(429, #"{"__type":"TooManyRequestsException","message":"Rate exceeded"}"#, ["retry-after": "0"])
        let refused = Self.json(400, #"{"__type":"InvalidParameterValueException","message":"bad"}"#)
        let (client, transport) = try scriptedLambda([throttled, throttled, refused])
        do {
            _ = try await client.configuration(of: "fn")
            XCTFail("the read succeeded")
        } catch let failure as LambdaClient.Failure {
            XCTAssertEqual(failure.code, "InvalidParameterValueException")
            XCTAssertEqual(failure.kind, .invalidResponse)
            XCTAssertTrue(failure.message.contains("(after 3 attempts)"), failure.message)
        }
        XCTAssertEqual(transport.sent.count, 3, "two throttles retried, the refusal final")
    }

    func testThrottlingThatNeverEndsStopsAtTheAttemptLimit() async throws {
        let throttled = Self.json(429, #"{"__type":"TooManyRequestsException"}"#, ["retry-after": "0"])
        let (client, transport) = try scriptedLambda([throttled], attempts: 2)
        do {
            _ = try await client.tags(of: "arn:aws:lambda:eu-west-1:1:function:fn")
            XCTFail("the read succeeded")
        } catch let failure as LambdaClient.Failure {
            XCTAssertEqual(failure.kind, .throttled)
            XCTAssertTrue(failure.message.hasPrefix("TooManyRequestsException"), failure.message)
        }
        XCTAssertEqual(transport.sent.count, 2)
    }
}
