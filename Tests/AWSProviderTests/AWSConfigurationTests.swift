import Foundation
import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsKit
import TestSupport

/// Offline checks: settings, region, endpoints, error parsing and retry classification.
final class AWSConfigurationTests: XCTestCase {
    let credentials = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-not-shown"]

    func declaration(_ yaml: String, environment: [String: String]) throws -> ProviderDeclaration {
        try providerDeclaration(yaml, name: "aws", baseDirectory: URL(fileURLWithPath: "/tmp"), environment: environment)
    }

    func makeError(_ kind: SecretProviderKind.Type, _ yaml: String, environment: [String: String]? = nil) -> InjectSecretsError? {
        do {
            _ = try kind.make(declaration(yaml, environment: environment ?? credentials))
            return nil
        } catch let error as InjectSecretsError {
            return error
        } catch {
            XCTFail("unexpected \(error)")
            return nil
        }
    }

    func testTypeNamesAndSettings() {
        XCTAssertEqual(AWSSecretsManagerStore.typeName, "aws-secrets-manager")
        XCTAssertEqual(AWSParameterStore.typeName, "aws-ssm")
        XCTAssertEqual(AWSSecretsManagerStore.settingKeys, ["region", "endpoint", "profile", "batch-overflow"])
        XCTAssertEqual(AWSParameterStore.settingKeys, ["region", "endpoint", "profile", "metadata-rate"])
    }

    /// Extra GetSecretValue calls cost money and share the account's read quota: only on request.
    func testBatchOverflowIsOffUnlessAskedForAndCheckedWhereItIsWritten() throws {
        let plain = try AWSSecretsManagerProvider(declaration("type: aws-secrets-manager\nregion: us-east-1\n", environment: credentials))
        XCTAssertEqual(plain.overflow, .none)
        let overflowing = try AWSSecretsManagerProvider(declaration(
            "type: aws-secrets-manager\nregion: us-east-1\nbatch-overflow: get-secret-value\n", environment: credentials))
        XCTAssertEqual(overflowing.overflow, .getSecretValue)
        let error = try XCTUnwrap(makeError(
            AWSSecretsManagerStore.self, "type: aws-secrets-manager\nregion: us-east-1\nbatch-overflow: always\n"))
        XCTAssertTrue(error.description.contains("'batch-overflow'"), error.description)
        XCTAssertTrue(error.description.contains("'none' or 'get-secret-value', found 'always'"), error.description)
        XCTAssertEqual(error.diagnostics.first?.location?.line, 3)
        // The parameter store has no batch to overflow.
        let ssm = try XCTUnwrap(makeError(AWSParameterStore.self, "type: aws-ssm\nregion: us-east-1\nbatch-overflow: none\n"))
        XCTAssertTrue(ssm.description.contains("unknown setting 'batch-overflow'"), ssm.description)
    }

    /// On a clock that stands still: batches while the batch quota has tokens, then one GetSecretValue
    /// per value while it has none, and a batch again as soon as a token is back.
    func testOverflowReadsOneByOneOnlyWhileTheBatchQuotaIsSpent() async throws {
        let clock = StandingClock()
        let batch = CallPacer(rate: 100, burst: 2, now: { clock.time }, sleep: { clock.waits.append($0) })
        let get = CallPacer(rate: 2000, burst: 200, now: { clock.time }, sleep: { clock.waits.append($0) })
        let provider = try AWSSecretsManagerProvider(
            declaration("type: aws-secrets-manager\nregion: us-east-1\nbatch-overflow: get-secret-value\n", environment: credentials),
            batchPacer: batch, getPacer: get)
        var reads: [AWSSecretsManagerProvider.Read] = []
        for pending in [60, 40, 20, 19] { reads.append(await provider.nextRead(pending)) }
        XCTAssertEqual(reads, [.batch(20), .batch(20), .single, .single])
        clock.time = 0.01
        let afterOneToken = await provider.nextRead(7)
        let thenSpent = await provider.nextRead(6)
        XCTAssertEqual([afterOneToken, thenSpent], [.batch(7), .single])
        XCTAssertEqual(clock.waits, [], "neither quota was waited on")
    }

    /// Without overflow every read is a batch, and the ones past the burst wait their turn, 10 ms apart.
    func testWithoutOverflowBatchesWaitForTheirQuota() async throws {
        let clock = StandingClock()
        let batch = CallPacer(rate: 100, burst: 2, now: { clock.time }, sleep: { clock.waits.append($0) })
        let provider = try AWSSecretsManagerProvider(
            declaration("type: aws-secrets-manager\nregion: us-east-1\n", environment: credentials), batchPacer: batch)
        var reads: [AWSSecretsManagerProvider.Read] = []
        for pending in [80, 60, 40, 20] { reads.append(await provider.nextRead(pending)) }
        XCTAssertEqual(reads, Array(repeating: .batch(20), count: 4))
        XCTAssertEqual(clock.waits.map { ($0 * 1000).rounded() }, [10, 20])
    }

    /// A bounded map with a pacer admits each start before it takes a slot, so all the slots stay in
    /// flight while calls wait on the quota: here 5 starts, 2 at once, then one every 10 ms.
    func testPacedMapWaitsOnTheQuotaOutsideItsSlots() async {
        let clock = StandingClock()
        let pacer = CallPacer(rate: 100, burst: 2, now: { clock.time }, sleep: { clock.waits.append($0) })
        let doubled = await boundedConcurrentMap(Array(0..<5), limit: 4, pacer: pacer) { $0 * 2 }
        XCTAssertEqual(doubled, [0, 2, 4, 6, 8])
        XCTAssertEqual(clock.waits.map { ($0 * 1000).rounded() }, [10, 20, 30])
    }

    func testMissingRegionIsALocatedConfigurationError() throws {
        for kind in [AWSSecretsManagerStore.self, AWSParameterStore.self] as [SecretProviderKind.Type] {
            let error = try XCTUnwrap(makeError(kind, "type: \(kind.typeName)\nprofile: ci\n"))
            XCTAssertEqual(error.kind, .badInput)
            let diagnostic = try XCTUnwrap(error.diagnostics.first)
            XCTAssertEqual(diagnostic.location?.path, "inject-secrets.yaml")
            XCTAssertEqual(diagnostic.location?.line, 1)
            XCTAssertTrue(diagnostic.message.contains("needs a region"), diagnostic.message)
            XCTAssertTrue(diagnostic.message.contains("AWS_REGION"), diagnostic.message)
        }
    }

    func testRegionFromEnvironmentAndDefaultEndpoints() throws {
        var environment = credentials
        environment["AWS_DEFAULT_REGION"] = "eu-west-1"
        let sm = try AWSSecretsManagerProvider(declaration("type: aws-secrets-manager\n", environment: environment))
        XCTAssertEqual(sm.client.endpoint.absoluteString, "https://secretsmanager.eu-west-1.amazonaws.com/")
        XCTAssertEqual(sm.client.region, "eu-west-1")
        XCTAssertEqual(sm.client.signingName, "secretsmanager")
        environment["AWS_REGION"] = "us-west-2"
        let ssm = try AWSParameterStoreProvider(declaration("type: aws-ssm\n", environment: environment))
        XCTAssertEqual(ssm.client.endpoint.absoluteString, "https://ssm.us-west-2.amazonaws.com/")
        XCTAssertEqual(ssm.client.targetPrefix, "AmazonSSM")
        let manifest = try AWSParameterStoreProvider(declaration("type: aws-ssm\nregion: cn-north-1\n", environment: environment))
        XCTAssertEqual(manifest.client.endpoint.absoluteString, "https://ssm.cn-north-1.amazonaws.com.cn/")
    }

    func testConfiguredEndpointsAndHTTPSRule() throws {
        var environment = credentials
        environment["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = "http://localhost:4566"
        let local = try AWSSecretsManagerProvider(declaration("type: aws-secrets-manager\nregion: us-east-1\n", environment: environment))
        XCTAssertEqual(local.client.endpoint.absoluteString, "http://localhost:4566/")

        let error = try XCTUnwrap(makeError(
            AWSSecretsManagerStore.self, "type: aws-secrets-manager\nregion: us-east-1\nendpoint: http://secrets.example.com\n"))
        XCTAssertTrue(error.description.contains("HTTPS is required"), error.description)
        XCTAssertEqual(error.diagnostics.first?.location?.line, 3)

        environment["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = "http://secrets.example.com"
        let fromEnvironment = try XCTUnwrap(makeError(
            AWSSecretsManagerStore.self, "type: aws-secrets-manager\nregion: us-east-1\n", environment: environment))
        XCTAssertTrue(fromEnvironment.description.contains("HTTPS is required"), fromEnvironment.description)

        let badRegion = try XCTUnwrap(makeError(AWSParameterStore.self, "type: aws-ssm\nregion: evil.com/x\n"))
        XCTAssertTrue(badRegion.description.contains("not an AWS region"), badRegion.description)
        XCTAssertEqual(badRegion.diagnostics.first?.location?.line, 2)
    }

    func testUnknownSettingHasDidYouMean() throws {
        let error = try XCTUnwrap(makeError(AWSSecretsManagerStore.self, "type: aws-secrets-manager\nregoin: us-east-1\n"))
        XCTAssertTrue(error.description.contains("did you mean 'region'"), error.description)
    }

    func testHTTPClientRefusesPlainHTTPOffLoopbackBeforeSending() async throws {
        let client = AWSJSONClient(
            serviceName: "AWS Secrets Manager", signingName: "secretsmanager", targetPrefix: "secretsmanager",
            endpoint: URL(string: "http://secretsmanager.example.com/")!, region: "us-east-1",
            credentials: EnvironmentCredentialSource(variables: credentials))
        do {
            _ = try await client.call("ListSecrets", [String: String](), as: [String: Int].self)
            XCTFail("plain HTTP off loopback must be refused")
        } catch {
            XCTAssertTrue("\(error)".contains("HTTPS is required"), "\(error)")
        }
    }

    // MARK: error parsing

    func parse(status: Int, body: String, headers: [String: String] = [:]) -> AWSCallError {
        let client = AWSJSONClient(
            serviceName: "AWS Secrets Manager", signingName: "secretsmanager", targetPrefix: "secretsmanager",
            endpoint: URL(string: "https://example.com/")!, region: "us-east-1",
            credentials: EnvironmentCredentialSource(variables: credentials))
        return client.parseError(HTTPResponse(status: status, headers: headers, body: Data(body.utf8)), operation: "GetSecretValue")
    }

    func testErrorParsing() {
        var error = parse(status: 400, body: #"{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}"#)
        XCTAssertEqual(error.code, "ResourceNotFoundException")
        XCTAssertEqual(error.kind, .notFound)
        XCTAssertEqual(error.description, "AWS Secrets Manager GetSecretValue failed: ResourceNotFoundException: Secrets Manager can't find the specified secret.")

        error = parse(status: 400, body: #"{"__type":"ignored","Message":"Rate exceeded"}"#,
                      headers: ["x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/coral/"])
        XCTAssertEqual(error.code, "ThrottlingException")
        XCTAssertEqual(error.serviceMessage, "Rate exceeded")
        XCTAssertEqual(error.kind, .throttled)
        XCTAssertTrue(AWSErrorCodes.isRetryable(code: error.code, status: 400))

        error = parse(status: 400, body: #"{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match.\n\nThe Canonical String for this request should have been\n'POST\n/\n\nx-amz-security-token:SECRET-TOKEN'"}"#)
        XCTAssertEqual(error.kind, .authentication)
        XCTAssertFalse(error.description.contains("SECRET-TOKEN"), "the canonical request is never quoted")
        XCTAssertTrue(error.description.contains("signature"))
        XCTAssertFalse(AWSErrorCodes.isRetryable(code: error.code, status: 400))

        error = parse(status: 403, body: "<?xml version=\"1.0\"?><ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error></Errors></ErrorResponse>")
        XCTAssertEqual(error.code, "SignatureDoesNotMatch")
        XCTAssertEqual(error.kind, .authentication)

        error = parse(status: 403, body: #"{"__type":"AccessDeniedException","Message":"User: arn:aws:iam::1:user/x is not authorized"}"#)
        XCTAssertEqual(error.kind, .accessDenied)

        error = parse(status: 502, body: "<html><body>Bad Gateway</body></html>")
        XCTAssertNil(error.code)
        XCTAssertEqual(error.kind, .unreachable)
        XCTAssertTrue(error.description.contains("HTTP 502"), error.description)
        XCTAssertTrue(AWSErrorCodes.isRetryable(code: nil, status: 502))

        error = parse(status: 404, body: "")
        XCTAssertNil(error.code)
        XCTAssertEqual(error.kind, .invalidResponse)
        XCTAssertTrue(error.description.contains("HTTP 404"), error.description)

        error = parse(status: 500, body: #"{"__type":"InternalServiceError"}"#)
        XCTAssertEqual(error.kind, .unreachable)
        XCTAssertTrue(AWSErrorCodes.isRetryable(code: error.code, status: 500))

        var retried = parse(status: 400, body: #"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)
        retried.attempts = 5
        XCTAssertEqual(retried.description, "AWS Secrets Manager GetSecretValue failed: ThrottlingException: Rate exceeded (after 5 attempts)")
    }

    func testRetryPolicyFromEnvironment() {
        XCTAssertEqual(AWSService.retryPolicy(environment: [:]).maxAttempts, 5)
        XCTAssertEqual(AWSService.retryPolicy(environment: ["AWS_MAX_ATTEMPTS": "2"]).maxAttempts, 2)
        XCTAssertEqual(AWSService.retryPolicy(environment: ["AWS_MAX_ATTEMPTS": "99"]).maxAttempts, 10)
        XCTAssertEqual(AWSService.retryPolicy(environment: ["AWS_MAX_ATTEMPTS": "x"]).maxAttempts, 5)
    }

    func testParameterStoreBatchesNeverRepeatANameInOneCall() {
        var references: [SecretReference] = []
        for index in 0..<12 { references.append(SecretReference(name: "p\(index)", id: "/p\(index)", policy: .current)) }
        references.append(SecretReference(name: "old", id: "/p0", policy: .version("1")))
        references.append(SecretReference(name: "stable", id: "/p0", policy: .stage("stable")))
        let batches = AWSParameterStoreProvider.batches(references)
        XCTAssertEqual(batches.map(\.count), [10, 3, 1])
        for batch in batches { XCTAssertEqual(Set(batch.map(\.id)).count, batch.count) }
        XCTAssertEqual(AWSParameterStoreProvider.selector(for: references[12]), "/p0:1")
        XCTAssertEqual(AWSParameterStoreProvider.selector(for: references[13]), "/p0:stable")
    }

    func testListableNames() {
        XCTAssertTrue(AWSSecretsManagerProvider.isListableName("prod/db-1_x+y=z.@"))
        XCTAssertFalse(AWSSecretsManagerProvider.isListableName("arn:aws:secretsmanager:us-east-1:1:secret:x-AbCdEf"))
        XCTAssertFalse(AWSSecretsManagerProvider.isListableName("!negated"))
        XCTAssertFalse(AWSSecretsManagerProvider.isListableName("with space"))
    }

    func testListPlanAsksForSharedPrefixesAPageAtATime() {
        let names = (0..<2000).map { "app/secret-\(String(format: "%04d", $0))" }
        let plan = SecretsManagerListPlan(names: names.shuffled())
        XCTAssertEqual(plan.calls.count, 20, "2,000 names are 20 pages of 100, not 200 calls of 10")
        XCTAssertEqual(plan.calls.first?.values, ["app/secret-00"])
        XCTAssertEqual(plan.calls.first?.names, (0..<100).map { "app/secret-\(String(format: "%04d", $0))" })
        XCTAssertEqual(plan.calls.map(\.pageBudget), Array(repeating: SecretsManagerListPlan.prefixPageBudget, count: 20))
        XCTAssertEqual(plan.calls.flatMap(\.names).sorted(), names)
        for call in plan.calls {
            XCTAssertLessThanOrEqual(call.values.count, 10)
            for name in call.names { XCTAssertTrue(call.values.contains { name.hasPrefix($0) }, name) }
        }
    }

    func testListPlanKeepsExactNamesWherePrefixesSaveNothing() {
        let few = SecretsManagerListPlan(names: ["db", "api", "cache", "db"])
        XCTAssertEqual(few.calls, [.init(values: ["api", "cache", "db"], names: ["api", "cache", "db"], pageBudget: 100)])
        // 25 names of one service and three others: one call instead of three.
        let service = (10..<35).map { "svc/a-\($0)" }
        let mixed = SecretsManagerListPlan(names: service + ["db", "api", "cache"])
        XCTAssertEqual(mixed.calls.count, 1)
        XCTAssertEqual(mixed.calls[0].values, ["api", "cache", "db", "svc/a-"])
        XCTAssertEqual(mixed.calls[0].pageBudget, SecretsManagerListPlan.prefixPageBudget)
        // A name that prefixes a group too large for a page is asked for alone.
        let nested = ["app"] + (0..<150).map { "app/x-\(String(format: "%03d", $0))" }
        let plan = SecretsManagerListPlan(names: nested)
        XCTAssertEqual(plan.calls.map(\.values), [["app"], ["app/x-0"], ["app/x-1"]])
        XCTAssertEqual(plan.calls.map(\.names.count), [1, 100, 50])
        XCTAssertEqual(plan.calls.map(\.pageBudget), [100, 2, 2])
        XCTAssertEqual(SecretsManagerListPlan.exact((0..<12).map { "n\($0)" }).map(\.values.count), [10, 2])
    }
}

/// A clock for `CallPacer` that moves only when told, and records the waits asked of it.
private final class StandingClock: @unchecked Sendable {
    var time = 0.0
    var waits: [Double] = []
}
