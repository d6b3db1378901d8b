import Foundation
import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsKit
import TestSupport

/// `aws-ssm` against a real moto_server that checks SigV4 and IAM, through the counting proxy.
final class ParameterStoreMotoTests: MotoTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try moto.resetProxy()
    }

    /// Puts a SecureString holding a fresh canary (overwriting); returns the value.
    @discardableResult
    func put(_ name: String, type: String = "SecureString") async throws -> String {
        let value = canary("p").value
        try await moto.seed("ssm", "PutParameter", [
            "Name": .string(name), "Value": .string(value), "Type": .string(type), "Overwrite": true,
        ])
        return value
    }

    func canary(_ label: String) -> Canary {
        let canary = Canary(label)
        canaries.append(canary)
        return canary
    }

    func provider(_ identity: TestIdentity? = nil, environment extra: [String: String] = [:]) throws -> any SecretProvider {
        var environment = (identity ?? moto.identities.session).environment()
        environment.merge(extra) { $1 }
        return try AWSParameterStore.make(moto.declaration(type: AWSParameterStore.typeName, environment: environment))
    }

    func reference(_ id: String, _ policy: VersionPolicy = .current, name: String? = nil) -> SecretReference {
        SecretReference(name: name ?? id, id: id, policy: policy)
    }

    func assertClean(_ texts: [String: String], file: StaticString = #filePath, line: UInt = #line) {
        for canary in canaries {
            XCTAssertEqual(canary.leaks(in: texts), [], "a value leaked into a message", file: file, line: line)
        }
    }

    func testTwentyThreeParametersInThreeDecryptingCalls() async throws {
        var expected: [SecretReference: String] = [:]
        for index in 0..<23 {
            let name = "/bulk-\(run)/p\(index)"
            expected[reference(name)] = try await put(name)
        }
        try moto.resetProxy()
        let results = try await provider().fetch(Array(expected.keys))
        for (reference, value) in expected {
            let fetched = try XCTUnwrap(try? results[reference]?.get(), "\(reference)")
            XCTAssertEqual(fetched.value.text, value, "SecureString decrypted")
            XCTAssertEqual(fetched.version, "1")
            XCTAssertEqual(fetched.locator, "arn:aws:ssm:us-east-1:123456789012:parameter\(reference.id)")
        }
        XCTAssertEqual(try moto.received(), ["AmazonSSM.GetParameters": 3])
        XCTAssertEqual(try moto.decrypting(), ["AmazonSSM.GetParameters": 3])
        assertClean(texts(results))
    }

    func testVersionAndLabelSelectorsAndMissingOnes() async throws {
        let name = "/selectors-\(run)/db"
        let first = try await put(name)
        let second = try await put(name)
        let third = try await put(name)
        try await moto.seed("ssm", "LabelParameterVersion", ["Name": .string(name), "ParameterVersion": 2, "Labels": ["stable"]])
        let references = [
            reference(name, .current, name: "current"),
            reference(name, .version("1"), name: "v1"),
            reference(name, .stage("stable"), name: "stable"),
            reference(name, .version("9"), name: "v9"),
            reference(name, .stage("nope"), name: "nope"),
            reference("/selectors-\(run)/missing", name: "missing"),
        ]
        let results = try await provider().fetch(references)
        XCTAssertEqual(try results[references[0]]?.get().value.text, third)
        XCTAssertEqual(try results[references[0]]?.get().version, "3")
        XCTAssertEqual(try results[references[1]]?.get().value.text, first)
        XCTAssertEqual(try results[references[1]]?.get().version, "1")
        XCTAssertEqual(try results[references[2]]?.get().value.text, second)
        XCTAssertEqual(try results[references[2]]?.get().version, "2")
        for index in [3, 4] {
            guard case .failure(let failure)? = results[references[index]] else { return XCTFail("\(references[index].name) must fail") }
            XCTAssertEqual(failure.kind, .versionNotFound, failure.message)
            XCTAssertTrue(failure.message.contains(name), failure.message)
        }
        guard case .failure(let missing)? = results[references[5]] else { return XCTFail("missing must fail") }
        XCTAssertEqual(missing.kind, .notFound)
        XCTAssertTrue(missing.message.contains("/selectors-\(run)/missing"), missing.message)
        // The same name never appears twice in one call, so every answer maps back by name.
        XCTAssertEqual(try moto.received()["AmazonSSM.GetParameters"], 5)
        assertClean(texts(results))
    }

    func testInspectReadsNoValues() async throws {
        let name = "/inspect-\(run)/db"
        try await put(name)
        try await put(name)
        try await put(name)
        try await moto.seed("ssm", "LabelParameterVersion", ["Name": .string(name), "ParameterVersion": 2, "Labels": ["stable"]])
        let gone = "/inspect-\(run)/gone"
        try await put(gone)
        try await moto.seed("ssm", "DeleteParameter", ["Name": .string(gone)])
        try moto.resetProxy()
        let rotated = VersionQuery(reference: reference(name), lockedVersion: "1")
        let upToDate = VersionQuery(reference: reference(name, name: "again"), lockedVersion: "3")
        let labelled = VersionQuery(reference: reference(name, .stage("stable"), name: "stable"), lockedVersion: "2")
        let missingVersion = VersionQuery(reference: reference(name, .version("1"), name: "v1"), lockedVersion: "7")
        let deleted = VersionQuery(reference: reference(gone), lockedVersion: "1")
        let statuses = try await provider().inspectByQuery([rotated, upToDate, labelled, missingVersion, deleted])
        XCTAssertEqual(try statuses[rotated]?.get().selected, "3")
        XCTAssertEqual(try statuses[rotated]?.get().locked, .present)
        XCTAssertEqual(try statuses[upToDate]?.get().selected, "3")
        XCTAssertEqual(try statuses[labelled]?.get().selected, "2")
        XCTAssertEqual(try statuses[missingVersion]?.get().selected, "1")
        guard case .gone? = try statuses[missingVersion]?.get().locked else { return XCTFail("version 7 never existed") }
        guard case .gone? = try statuses[deleted]?.get().locked else { return XCTFail("deleted parameter") }
        let calls = try moto.received()
        XCTAssertNil(calls["AmazonSSM.GetParameters"])
        XCTAssertNil(calls["AmazonSSM.GetParameter"])
        XCTAssertEqual(calls["AmazonSSM.DescribeParameters"], 1)
        XCTAssertEqual(try moto.decrypting(), [:], "nothing asked for decryption")
        assertClean(texts(statuses))
    }

    func testWrongKeyAndMetadataOnlyIdentity() async throws {
        let name = "/auth-\(run)/db"
        try await put(name)
        let ref = reference(name)
        let wrong = try provider(moto.identities.admin, environment: ["AWS_SECRET_ACCESS_KEY": "not-the-key-0000000000000000000000000000"])
        guard case .failure(let failure)? = await wrong.fetch([ref])[ref] else { return XCTFail("wrong key accepted") }
        XCTAssertEqual(failure.kind, .authentication)
        XCTAssertTrue(failure.message.lowercased().contains("signature"), failure.message)

        let metadata = try provider(moto.identities.metadata)
        let query = VersionQuery(reference: ref, lockedVersion: "1")
        let status = try await inspectOne(metadata, query)
        XCTAssertEqual(status.selected, "1")
        guard case .failure(let denied)? = await metadata.fetch([ref])[ref] else { return XCTFail("fetch must be denied") }
        XCTAssertEqual(denied.kind, .accessDenied, denied.message)
    }

    func testFaultsAreSurvivedWithIdenticalResults() async throws {
        var references: [SecretReference] = []
        for index in 0..<15 {
            let name = "/faults-\(run)/p\(index)"
            try await put(name)
            if index % 3 == 0 {
                try await put(name)
                references.append(reference(name, .version("1"), name: "\(name)@1"))
            }
            references.append(reference(name))
        }
        let queries = references.map { VersionQuery(reference: $0, lockedVersion: "1") }
        let provider = try AWSParameterStoreProvider(
            moto.declaration(type: AWSParameterStore.typeName, environment: moto.identities.session.environment()),
            http: moto.impatientHTTP)
        func snapshot() async -> [String] {
            let fetched = await provider.fetch(references)
            let inspected = await provider.inspectByQuery(queries)
            var lines = fetched.map { reference, result in
                "\(reference.name) " + ((try? result.get()).map { "\($0.version) \($0.value.text)" } ?? "failed")
            }
            lines += inspected.map { query, result in
                "\(query.reference.name) " + ((try? result.get()).map { String(reflecting: $0) } ?? "failed")
            }
            return lines.sorted()
        }
        let baseline = await snapshot()
        XCTAssertFalse(baseline.contains { $0.hasSuffix("failed") }, "\(baseline.filter { $0.hasSuffix("failed") })")
        try moto.injectFaults(rate: 0.15, kinds: ["500", "throttle", "reset"], seed: 5)
        let faulty = await snapshot()
        let injected = try moto.faults().values.reduce(0, +)
        try moto.resetProxy()
        XCTAssertGreaterThan(injected, 0)
        XCTAssertEqual(faulty, baseline)
    }
}
