import Foundation
import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsKit
import TestSupport

/// `aws-secrets-manager` against a real moto_server that checks SigV4 and IAM, through a counting,
/// fault-injecting proxy.
final class SecretsManagerMotoTests: MotoTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try moto.resetProxy()
    }

    // MARK: helpers

    func canary(_ label: String) -> Canary {
        let canary = Canary(label)
        canaries.append(canary)
        return canary
    }

    /// Creates a secret holding a fresh canary; returns (ARN, VersionId, value).
    @discardableResult
    func createSecret(_ name: String) async throws -> (arn: String, version: String, value: String) {
        let value = canary(name.replacingOccurrences(of: "/", with: "-")).value
        let answer = try await moto.seed("secretsmanager", "CreateSecret", ["Name": .string(name), "SecretString": .string(value)])
        return (answer["ARN"]!.string!, answer["VersionId"]!.string!, value)
    }

    /// Rotates like PutSecretValue does by default: AWSCURRENT moves, the old current becomes AWSPREVIOUS.
    @discardableResult
    func putValue(_ name: String, stages: [String]? = nil) async throws -> (version: String, value: String) {
        let value = canary("rotated").value
        var input: [String: JSON] = [
            "SecretId": .string(name), "SecretString": .string(value),
            "ClientRequestToken": .string(UUID().uuidString),
        ]
        if let stages { input["VersionStages"] = .array(stages.map(JSON.string)) }
        let answer = try await moto.seed("secretsmanager", "PutSecretValue", .object(input))
        return (answer["VersionId"]!.string!, value)
    }

    func provider(_ identity: TestIdentity? = nil, environment extra: [String: String] = [:]) throws -> any SecretProvider {
        var environment = (identity ?? moto.identities.session).environment()
        environment.merge(extra) { $1 }
        return try AWSSecretsManagerStore.make(
            moto.declaration(type: AWSSecretsManagerStore.typeName, environment: environment))
    }

    /// A provider whose HTTP requests time out after 5 s. A reset on a kept-alive connection makes
    /// URLSession on Linux (libcurl) wait for the request timeout instead of failing at once.
    func impatientProvider(environment extra: [String: String] = [:]) throws -> any SecretProvider {
        var environment = moto.identities.session.environment()
        environment.merge(extra) { $1 }
        return try AWSSecretsManagerProvider(
            moto.declaration(type: AWSSecretsManagerStore.typeName, environment: environment), http: moto.impatientHTTP)
    }

    func reference(_ id: String, _ policy: VersionPolicy = .current, name: String? = nil) -> SecretReference {
        SecretReference(name: name ?? id.replacingOccurrences(of: "/", with: "_"), id: id, policy: policy)
    }

    func assertNoCanary<V>(_ results: [SecretReference: Result<V, ProviderFailure>], file: StaticString = #filePath, line: UInt = #line) {
        for canary in canaries {
            XCTAssertEqual(canary.leaks(in: texts(results)), [], "a secret value leaked into a message", file: file, line: line)
        }
    }

    func assertNoCanary(_ results: [VersionQuery: Result<VersionStatus, ProviderFailure>], file: StaticString = #filePath, line: UInt = #line) {
        for canary in canaries {
            XCTAssertEqual(canary.leaks(in: texts(results)), [], "a secret value leaked into a message", file: file, line: line)
        }
    }

    // MARK: fetch

    func testFortySevenCurrentSecretsInExactlyThreeBatchCalls() async throws {
        var expected: [SecretReference: (arn: String, version: String, value: String)] = [:]
        for index in 0..<47 {
            let id = "batch-\(run)/s\(index)"
            expected[reference(id)] = try await createSecret(id)
        }
        try moto.resetProxy()
        // Paced at 10 calls a second with no burst (on a clock that stands still): the second and third
        // batch calls each wait their turn.
        let waits = WaitLog()
        let pacer = CallPacer(rate: 10, burst: 1, now: { 0 }, sleep: { await waits.add($0) })
        let paced = try AWSSecretsManagerProvider(
            moto.declaration(type: AWSSecretsManagerStore.typeName, environment: moto.identities.session.environment()),
            batchPacer: pacer)
        let results = await paced.fetch(Array(expected.keys))
        XCTAssertEqual(results.count, 47)
        let recorded = await waits.seconds
        XCTAssertEqual(recorded.sorted().map { ($0 * 10).rounded() }, [1, 2])
        for (reference, want) in expected {
            let fetched = try XCTUnwrap(try? results[reference]?.get(), "\(reference): \(String(describing: results[reference]))")
            XCTAssertEqual(fetched.value.text, want.value)
            XCTAssertEqual(fetched.version, want.version)
            XCTAssertEqual(fetched.locator, want.arn)
        }
        XCTAssertEqual(try moto.received(), ["secretsmanager.BatchGetSecretValue": 3])
        assertNoCanary(results)
    }

    /// With `batch-overflow: get-secret-value` and a batch quota spent after one call (on a clock that
    /// stands still), the other 27 values come through GetSecretValue, each right, without any wait.
    func testOverflowReadsPastTheBatchQuotaThroughGetSecretValue() async throws {
        var expected: [SecretReference: (arn: String, version: String, value: String)] = [:]
        for index in 0..<47 {
            let id = "overflow-\(run)/s\(index)"
            expected[reference(id)] = try await createSecret(id)
        }
        try moto.resetProxy()
        let waits = WaitLog()
        let base = try AWSSecretsManagerProvider(
            moto.declaration(type: AWSSecretsManagerStore.typeName, environment: moto.identities.session.environment()))
        let overflowing = AWSSecretsManagerProvider(
            name: base.name, client: base.client, overflow: .getSecretValue,
            batchPacer: CallPacer(rate: 10, burst: 1, now: { 0 }, sleep: { await waits.add($0) }),
            getPacer: CallPacer(rate: 1000, burst: 100, now: { 0 }, sleep: { await waits.add($0) }))
        let results = await overflowing.fetch(Array(expected.keys))
        XCTAssertEqual(results.count, 47)
        for (reference, want) in expected {
            let fetched = try XCTUnwrap(try? results[reference]?.get(), "\(reference): \(String(describing: results[reference]))")
            XCTAssertEqual(fetched.value.text, want.value)
            XCTAssertEqual(fetched.version, want.version)
            XCTAssertEqual(fetched.locator, want.arn)
        }
        XCTAssertEqual(try moto.received(), ["secretsmanager.BatchGetSecretValue": 1, "secretsmanager.GetSecretValue": 27])
        let recorded = await waits.seconds
        XCTAssertEqual(recorded, [])
        assertNoCanary(results)
    }

    func testBatchErrorsBelongToTheirOwnSecret() async throws {
        let present = try await createSecret("mixed-\(run)/present")
        let references = [reference("mixed-\(run)/present"), reference("mixed-\(run)/missing-a"), reference("mixed-\(run)/missing-b")]
        let results = try await provider().fetch(references)
        XCTAssertEqual(try results[references[0]]?.get().value.text, present.value)
        for missing in references.dropFirst() {
            guard case .failure(let failure)? = results[missing] else { return XCTFail("\(missing) should fail") }
            XCTAssertEqual(failure.kind, .notFound)
            XCTAssertTrue(failure.message.contains(missing.id), failure.message)
            XCTAssertTrue(failure.message.contains("ResourceNotFoundException"), failure.message)
            XCTAssertEqual(failure.operation, .read)
            XCTAssertEqual(failure.path, missing.id)
        }
        XCTAssertEqual(try moto.received(), ["secretsmanager.BatchGetSecretValue": 1])
        assertNoCanary(results)
    }

    func testStageAndVersionIdPolicies() async throws {
        let id = "policies-\(run)/db"
        let first = try await createSecret(id)
        let second = try await putValue(id)
        let previous = reference(id, .stage("AWSPREVIOUS"), name: "previous")
        let pinned = reference(id, .version(first.version), name: "pinned")
        let current = reference(id, .current, name: "current")
        let missingVersion = reference(id, .version(String(repeating: "0", count: 32)), name: "missingVersion")
        let missingStage = reference(id, .stage("NOPE"), name: "missingStage")
        let results = try await provider().fetch([previous, pinned, current, missingVersion, missingStage])
        XCTAssertEqual(try results[previous]?.get().value.text, first.value)
        XCTAssertEqual(try results[previous]?.get().version, first.version)
        XCTAssertEqual(try results[pinned]?.get().value.text, first.value)
        XCTAssertEqual(try results[pinned]?.get().version, first.version)
        XCTAssertEqual(try results[current]?.get().value.text, second.value)
        XCTAssertEqual(try results[current]?.get().version, second.version)
        guard case .failure(let failure)? = results[missingVersion] else { return XCTFail("missing version should fail") }
        XCTAssertEqual(failure.kind, .versionNotFound, failure.message)
        guard case .failure(let stageFailure)? = results[missingStage] else { return XCTFail("missing stage should fail") }
        XCTAssertTrue(stageFailure.message.contains("NOPE"), stageFailure.message)
        let calls = try moto.received()
        XCTAssertEqual(calls["secretsmanager.GetSecretValue"], 4)
        XCTAssertEqual(calls["secretsmanager.BatchGetSecretValue"], 1)
        assertNoCanary(results)
    }

    // MARK: authentication

    func testWrongSecretKeyIsRefusedAsASignatureFailureWithoutRetries() async throws {
        let id = "auth-\(run)/db"
        try await createSecret(id)
        let wrongKey = "wrong" + String(moto.identities.admin.SecretAccessKey.dropFirst(5))
        let provider = try provider(moto.identities.admin, environment: ["AWS_SECRET_ACCESS_KEY": wrongKey])
        let ref = reference(id)
        let fetched = await provider.fetch([ref])
        let inspected = await provider.inspectByQuery([VersionQuery(reference: ref, lockedVersion: nil)])
        let failures = [fetched.values.first?.failure, inspected.values.first?.failure]
        for failure in failures {
            guard let failure else { return XCTFail("a wrong key must be refused") }
            XCTAssertTrue([.authentication, .accessDenied].contains(failure.kind), "\(failure.kind)")
            XCTAssertTrue(failure.message.lowercased().contains("signature"), failure.message)
            XCTAssertTrue(failure.message.contains(id), failure.message)
            XCTAssertFalse(failure.message.contains("attempts"), "a refused signature is not retried: \(failure.message)")
            XCTAssertFalse(failure.message.contains(wrongKey))
            XCTAssertFalse(failure.message.contains(moto.identities.admin.SecretAccessKey))
        }
        let calls = try moto.received()
        XCTAssertEqual(calls.values.reduce(0, +), calls.count, "one attempt per call: \(calls)")
    }

    func testSignedCallsWithLongTermAndSessionCredentialsAreAccepted() async throws {
        let id = "session-\(run)/db"
        let created = try await createSecret(id)
        let ref = reference(id)
        for identity in [moto.identities.admin, moto.identities.session] {
            let results = try await provider(identity).fetch([ref])
            XCTAssertEqual(try results[ref]?.get().value.text, created.value)
        }
        XCTAssertNotNil(moto.identities.session.SessionToken)
        // The token is signed: a tampered one is refused.
        let tampered = try provider(moto.identities.session, environment: ["AWS_SESSION_TOKEN": "FQoGZXIvYXdzEXAMPLE"])
        guard case .failure(let failure)? = await tampered.fetch([ref])[ref] else { return XCTFail("tampered token accepted") }
        XCTAssertEqual(failure.kind, .authentication, failure.message)
        XCTAssertFalse(failure.message.contains(moto.identities.session.SessionToken!))
    }

    func testMetadataOnlyIdentityCanInspectButNotFetch() async throws {
        let id = "metadata-\(run)/db"
        let created = try await createSecret(id)
        let provider = try provider(moto.identities.metadata)
        let ref = reference(id)
        let query = VersionQuery(reference: ref, lockedVersion: created.version)
        let status = try await inspectOne(provider, query)
        XCTAssertEqual(status.selected, created.version)
        XCTAssertEqual(status.locked, .present)
        XCTAssertEqual(status.locator, created.arn)
        guard case .failure(let failure)? = await provider.fetch([ref])[ref] else { return XCTFail("fetch must be denied") }
        XCTAssertEqual(failure.kind, .accessDenied, failure.message)
        XCTAssertTrue(failure.message.contains("GetSecretValue failed: AccessDenied"), failure.message)
        XCTAssertTrue(failure.message.contains("BatchGetSecretValue was denied too"), failure.message)
        XCTAssertTrue(failure.message.contains(id), failure.message)
    }

    func testGetSecretValueOnlyPolicyFallsBackFromTheBatchCall() async throws {
        let names = ["getonly-\(run)/a", "getonly-\(run)/b"]
        var values: [String] = []
        for name in names { values.append(try await createSecret(name).value) }
        try moto.resetProxy()
        let references = names.map { reference($0) }
        let results = try await provider(moto.identities.getSecretValueOnly).fetch(references)
        XCTAssertEqual(try references.map { try results[$0]!.get().value.text }, values)
        XCTAssertEqual(try moto.received(), ["secretsmanager.BatchGetSecretValue": 1, "secretsmanager.GetSecretValue": 2])
    }

    // MARK: inspect

    func testInspectSeesRotationUnlabeledVersionsAndPendingRotation() async throws {
        let id = "rotation-\(run)/db"
        let first = try await createSecret(id)
        let ref = reference(id)
        let provider = try provider()
        let lockedFirst = VersionQuery(reference: ref, lockedVersion: first.version)

        var status = try await inspectOne(provider, lockedFirst)
        XCTAssertEqual(status.selected, first.version)
        XCTAssertEqual(status.locked, .present)

        let second = try await putValue(id)
        try moto.resetProxy()
        status = try await inspectOne(provider, lockedFirst)
        XCTAssertEqual(status.selected, second.version, "rotation seen: selected != locked")
        XCTAssertNotEqual(status.selected, first.version)
        XCTAssertEqual(status.locked, .present, "the locked version still holds AWSPREVIOUS")
        let calls = try moto.received()
        XCTAssertNil(calls["secretsmanager.GetSecretValue"], "inspect never reads a value")
        XCTAssertNil(calls["secretsmanager.BatchGetSecretValue"], "inspect never reads a value")
        XCTAssertEqual(calls["secretsmanager.ListSecrets"], 1)

        let third = try await putValue(id)
        status = try await inspectOne(provider, lockedFirst)
        XCTAssertEqual(status.selected, third.version)
        XCTAssertEqual(status.locked, .unlabeled, "the first version lost its last label")

        let previous = VersionQuery(reference: reference(id, .stage("AWSPREVIOUS")), lockedVersion: second.version)
        let pinned = VersionQuery(reference: reference(id, .version(first.version)), lockedVersion: first.version)
        let statuses = await provider.inspectByQuery([previous, pinned])
        XCTAssertEqual(try statuses[previous]?.get().selected, second.version)
        XCTAssertEqual(try statuses[previous]?.get().locked, .present)
        XCTAssertEqual(try statuses[pinned]?.get().selected, first.version)

        let pending = try await putValue(id, stages: ["AWSPENDING"])
        status = try await inspectOne(provider, lockedFirst)
        XCTAssertEqual(status.selected, third.version, "AWSPENDING does not move AWSCURRENT")
        XCTAssertTrue(status.notes.contains { $0.contains("rotation in flight") && $0.contains(pending.version) }, "\(status.notes)")
        assertNoCanary(statuses)
    }

    func testDeletedSecretsAreGoneAndMissingOnesNotFound() async throws {
        let scheduled = "deleted-\(run)/scheduled"
        let forced = "deleted-\(run)/forced"
        let scheduledVersion = try await createSecret(scheduled).version
        let forcedVersion = try await createSecret(forced).version
        try await moto.seed("secretsmanager", "DeleteSecret", ["SecretId": .string(scheduled), "RecoveryWindowInDays": 7])
        try await moto.seed("secretsmanager", "DeleteSecret", ["SecretId": .string(forced), "ForceDeleteWithoutRecovery": true])
        let queries = [
            VersionQuery(reference: reference(scheduled), lockedVersion: scheduledVersion),
            VersionQuery(reference: reference(forced), lockedVersion: forcedVersion),
            VersionQuery(reference: reference("deleted-\(run)/never"), lockedVersion: nil),
        ]
        let statuses = try await provider().inspectByQuery(queries)
        guard case .gone(let reason)? = try statuses[queries[0]]?.get().locked else {
            return XCTFail("scheduled deletion: \(String(describing: statuses[queries[0]]))")
        }
        XCTAssertTrue(reason.contains("deletion"), reason)
        guard case .gone? = try statuses[queries[1]]?.get().locked else {
            return XCTFail("forced deletion: \(String(describing: statuses[queries[1]]))")
        }
        guard case .failure(let failure)? = statuses[queries[2]] else { return XCTFail("a missing secret is not found") }
        XCTAssertEqual(failure.kind, .notFound)
        XCTAssertTrue(failure.message.contains("deleted-\(run)/never"), failure.message)
        // Fetching the deleted ones fails, each naming itself.
        let fetched = try await provider().fetch([reference(scheduled), reference(forced)])
        for (reference, result) in fetched {
            guard case .failure(let failure) = result else { return XCTFail("\(reference) is deleted") }
            XCTAssertEqual(failure.kind, .notFound, failure.message)
            XCTAssertTrue(failure.message.contains(reference.id))
        }
        assertNoCanary(statuses)
        assertNoCanary(fetched)
    }

    func testNameFiltersKeepExactMatchesAndARNsGoThroughDescribeSecret() async throws {
        let base = "prefix-\(run)/app"
        let exact = try await createSecret(base)
        let longer = try await createSecret(base + "-old")
        try await createSecret(base + "x")
        try moto.resetProxy()
        let byName = VersionQuery(reference: reference(base), lockedVersion: exact.version)
        let byARN = VersionQuery(reference: reference(longer.arn, name: "by_arn"), lockedVersion: longer.version)
        let statuses = try await provider().inspectByQuery([byName, byARN])
        XCTAssertEqual(try statuses[byName]?.get().locator, exact.arn)
        XCTAssertEqual(try statuses[byName]?.get().selected, exact.version)
        XCTAssertEqual(try statuses[byARN]?.get().locator, longer.arn)
        XCTAssertEqual(try statuses[byARN]?.get().selected, longer.version)
        XCTAssertEqual(try moto.received(), ["secretsmanager.ListSecrets": 1, "secretsmanager.DescribeSecret": 1])
        // Fetch by ARN maps the batch answer back to the ARN.
        let fetched = try await provider().fetch([byARN.reference])
        XCTAssertEqual(try fetched[byARN.reference]?.get().value.text, longer.value)
    }

    func testNamesSharingAPrefixInspectInOneListCall() async throws {
        var queries: [VersionQuery] = []
        for index in 0..<25 {
            let id = "many-\(run)/s\(index)"
            let created = try await createSecret(id)
            queries.append(VersionQuery(reference: reference(id), lockedVersion: created.version))
        }
        try moto.resetProxy()
        let statuses = try await provider().inspectByQuery(queries)
        for query in queries { XCTAssertEqual(try statuses[query]?.get().locked, .present) }
        XCTAssertEqual(try moto.received(), ["secretsmanager.ListSecrets": 1], "one prefix instead of three calls of 10 names")
    }

    /// 25 names with nothing in common are three ListSecrets calls of exact names, started as the
    /// ListSecrets quota admits them (one at once, then 10 ms apart on a clock that stands still).
    func testListingIsPacedToTheListSecretsQuota() async throws {
        var queries: [VersionQuery] = []
        for letter in "abcdefghijklmnopqrstuvwxy" {
            let id = "\(letter)\(run)-listed"
            queries.append(VersionQuery(reference: reference(id), lockedVersion: try await createSecret(id).version))
        }
        try moto.resetProxy()
        let waits = WaitLog()
        let base = try AWSSecretsManagerProvider(
            moto.declaration(type: AWSSecretsManagerStore.typeName, environment: moto.identities.session.environment()))
        let paced = AWSSecretsManagerProvider(
            name: base.name, client: base.client,
            listPacer: CallPacer(rate: 100, burst: 1, now: { 0 }, sleep: { await waits.add($0) }))
        let statuses = await paced.inspectByQuery(queries)
        for query in queries { XCTAssertEqual(try statuses[query]?.get().locked, .present, "\(query.reference.id)") }
        XCTAssertEqual(try moto.received(), ["secretsmanager.ListSecrets": 3])
        let recorded = await waits.seconds
        XCTAssertEqual(recorded.map { ($0 * 1000).rounded() }, [10, 20])
    }

    /// Waits (up to 10 s) until the proxy has counted `calls` ListSecrets calls.
    func waitForListSecrets(_ calls: Int, file: StaticString = #filePath, line: UInt = #line) async throws {
        let deadline = Date().addingTimeInterval(10)
        while try moto.received()["secretsmanager.ListSecrets", default: 0] < calls {
            guard Date() < deadline else { return XCTFail("no \(calls) ListSecrets calls within 10 s", file: file, line: line) }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Drift tells the provider its ids before it has made its queries: the listing starts then, and
    /// `inspect` answers from it without listing again.
    func testAListingStartedAheadAnswersInspectWithoutListingAgain() async throws {
        var queries: [VersionQuery] = []
        for index in 0..<25 {
            let id = "ahead-\(run)/s\(index)"
            queries.append(VersionQuery(reference: reference(id), lockedVersion: try await createSecret(id).version))
        }
        try moto.resetProxy()
        let provider = try provider()
        provider.willInspect(queries.map(\.reference.id).reversed())
        try await waitForListSecrets(1)
        let statuses = await provider.inspectByQuery(queries)
        for query in queries { XCTAssertEqual(try statuses[query]?.get().locked, .present, "\(query.reference.id)") }
        XCTAssertEqual(try moto.received(), ["secretsmanager.ListSecrets": 1])
        assertNoCanary(statuses)
    }

    /// Told other ids than it is then asked about, the provider drops that listing and lists its own.
    func testAListingStartedForOtherIdsIsDropped() async throws {
        let id = "dropped-\(run)/asked"
        let query = VersionQuery(reference: reference(id), lockedVersion: try await createSecret(id).version)
        try await createSecret("dropped-\(run)/told")
        try moto.resetProxy()
        let provider = try provider()
        provider.willInspect(["dropped-\(run)/told"])
        try await waitForListSecrets(1)
        let statuses = await provider.inspectByQuery([query])
        XCTAssertEqual(try statuses[query]?.get().locked, .present)
        XCTAssertEqual(try moto.received(), ["secretsmanager.ListSecrets": 2])
    }

    /// A listing that `inspect` never takes (the run failed before it asked) stops at `finish`: 25 names
    /// with nothing in common are three calls at one a second, and only the first is made.
    func testAListingNeverTakenStopsAtFinish() async throws {
        var ids: [String] = []
        for letter in "abcdefghijklmnopqrstuvwxy" {
            ids.append("\(letter)\(run)-untaken")
            try await createSecret(ids.last!)
        }
        try moto.resetProxy()
        let base = try AWSSecretsManagerProvider(
            moto.declaration(type: AWSSecretsManagerStore.typeName, environment: moto.identities.session.environment()))
        let slow = AWSSecretsManagerProvider(name: base.name, client: base.client, listPacer: CallPacer(rate: 1, burst: 1))
        slow.willInspect(ids)
        try await waitForListSecrets(1)
        await slow.finish()
        try await Task.sleep(nanoseconds: 2_500_000_000)
        XCTAssertEqual(try moto.received(), ["secretsmanager.ListSecrets": 1])
    }

    func testAPrefixCrowdedBySecretsOutsideTheManifestFallsBackToExactNames() async throws {
        // 12 manifest names share "crowd-RUN/s" with 200 secrets the manifest does not name: the prefix
        // call spends its two pages, then the 12 names are listed exactly (10 and 2). moto lists in the
        // order of creation, so the spares come first and fill both pages.
        for index in 0..<200 { try await createSecret("crowd-\(run)/spare-\(index)") }
        var queries: [VersionQuery] = []
        for index in 0..<12 {
            let id = "crowd-\(run)/s\(index)"
            queries.append(VersionQuery(reference: reference(id), lockedVersion: try await createSecret(id).version))
        }
        try moto.resetProxy()
        let statuses = try await provider().inspectByQuery(queries)
        for query in queries { XCTAssertEqual(try statuses[query]?.get().locked, .present, "\(query.reference.id)") }
        XCTAssertEqual(try moto.received(), ["secretsmanager.ListSecrets": 4])
    }

    // MARK: retries

    func testFaultsAreSurvivedWithIdenticalResults() async throws {
        var references: [SecretReference] = []
        var queries: [VersionQuery] = []
        for index in 0..<30 {
            let id = "faults-\(run)/s\(index)"
            let created = try await createSecret(id)
            references.append(reference(id))
            queries.append(VersionQuery(reference: reference(id), lockedVersion: created.version))
            if index % 5 == 0 {
                try await putValue(id)
                references.append(reference(id, .stage("AWSPREVIOUS"), name: "prev\(index)"))
                references.append(reference(id, .version(created.version), name: "pin\(index)"))
            }
        }
        references.append(reference("faults-\(run)/missing"))
        let provider = try impatientProvider()

        func snapshot() async -> ([String], [String]) {
            let fetched = await provider.fetch(references)
            let inspected = await provider.inspectByQuery(queries)
            let values = fetched.map { reference, result -> String in
                switch result {
                case .success(let secret): return "\(reference.name) \(secret.version) \(secret.locator ?? "") \(secret.value.text)"
                case .failure(let failure): return "\(reference.name) \(failure.kind)"
                }
            }.sorted()
            let statuses = inspected.map { query, result -> String in
                switch result {
                case .success(let status): return "\(query.reference.name) \(String(reflecting: status))"
                case .failure(let failure): return "\(query.reference.name) \(failure.kind)"
                }
            }.sorted()
            return (values, statuses)
        }

        let baseline = await snapshot()
        XCTAssertEqual(baseline.0.filter { $0.hasSuffix("notFound") }.count, 1)
        try moto.injectFaults(rate: 0.15, kinds: ["500", "throttle", "reset"], seed: 11)
        let faulty = await snapshot()
        let faults = try moto.faults()
        try moto.resetProxy()
        XCTAssertGreaterThan(faults.values.reduce(0, +), 0, "no faults were injected")
        XCTAssertEqual(faulty.0, baseline.0)
        XCTAssertEqual(faulty.1, baseline.1)
    }

    func testPersistentThrottlingFailsAfterBoundedAttemptsNamingTheCode() async throws {
        let id = "throttle-\(run)/db"
        try await createSecret(id)
        try moto.injectFaults(rate: 1.0, kinds: ["throttle"])
        defer { try? moto.resetProxy() }
        let provider = try provider(environment: ["AWS_MAX_ATTEMPTS": "3"])
        let ref = reference(id)
        guard case .failure(let failure)? = await provider.fetch([ref])[ref] else { return XCTFail("must fail") }
        XCTAssertEqual(failure.kind, .throttled)
        XCTAssertTrue(failure.message.contains("ThrottlingException"), failure.message)
        XCTAssertTrue(failure.message.contains("after 3 attempts"), failure.message)
        XCTAssertTrue(failure.message.contains(id), failure.message)
        XCTAssertEqual(try moto.received()["secretsmanager.BatchGetSecretValue"], 3)
    }

    func testServerErrorsAndResetsFailAfterBoundedAttempts() async throws {
        let id = "broken-\(run)/db"
        try await createSecret(id)
        let provider = try impatientProvider(environment: ["AWS_MAX_ATTEMPTS": "2"])
        let ref = reference(id)
        for kind in ["500", "reset"] {
            try moto.injectFaults(rate: 1.0, kinds: [kind])
            guard case .failure(let failure)? = await provider.fetch([ref])[ref] else { return XCTFail("must fail") }
            XCTAssertEqual(failure.kind, .unreachable, failure.message)
            XCTAssertTrue(failure.message.contains("after 2 attempts"), failure.message)
            if kind == "500" { XCTAssertTrue(failure.message.contains("InternalFailure"), failure.message) }
        }
        try moto.resetProxy()
    }

    func testUnreachableEndpointIsAStoreFailure() async throws {
        let port = try freePort()
        var environment = moto.identities.session.environment()
        environment["AWS_MAX_ATTEMPTS"] = "2"
        let provider = try AWSSecretsManagerStore.make(moto.declaration(
            type: AWSSecretsManagerStore.typeName, environment: environment, endpoint: "http://127.0.0.1:\(port)"))
        let ref = reference("nowhere/db")
        guard case .failure(let failure)? = await provider.fetch([ref])[ref] else { return XCTFail("must fail") }
        XCTAssertEqual(failure.kind, .unreachable)
        XCTAssertTrue(failure.message.contains("127.0.0.1"), failure.message)
        XCTAssertTrue(failure.message.contains("after 2 attempts"), failure.message)
    }
}
