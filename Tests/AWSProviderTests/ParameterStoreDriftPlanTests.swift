import Foundation
import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsKit
import TestSupport

/// `aws-ssm` drift at scale against moto: the fewest DescribeParameters calls (50 names each), one
/// GetParameterHistory per name whose answer needs it, every call through its pacer, and the same
/// statuses as asking about each query alone.
final class ParameterStoreDriftPlanTests: MotoTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try moto.resetProxy()
    }

    func put(_ name: String) async throws {
        let canary = Canary("ssm")
        canaries.append(canary)
        try await moto.seed("ssm", "PutParameter", [
            "Name": .string(name), "Value": .string(canary.value), "Type": "SecureString", "Overwrite": true,
        ])
    }

    /// A provider whose pacers never sleep but log every wait: on a clock that stands still with no
    /// burst, each call admitted is one wait.
    func provider(describeWaits: WaitLog, historyWaits: WaitLog) throws -> AWSParameterStoreProvider {
        var provider = try AWSParameterStoreProvider(
            moto.declaration(type: AWSParameterStore.typeName, environment: moto.identities.session.environment()))
        provider.describePacer = CallPacer(rate: 1_000, burst: 0, now: { 0 }, sleep: { await describeWaits.add($0) })
        provider.historyPacer = CallPacer(rate: 1_000, burst: 0, now: { 0 }, sleep: { await historyWaits.add($0) })
        return provider
    }

    func testDriftOfManyParametersInThePlannedCallsWithUnchangedResults() async throws {
        let prefix = "/plan-\(run)"
        let names = (0..<120).map { String(format: "\(prefix)/p%03d", $0) }
        for (index, name) in names.enumerated() {
            try await put(name)
            if index % 10 == 0 { try await put(name) }  // rotated: 12 parameters at version 2
        }
        try await moto.seed("ssm", "LabelParameterVersion", ["Name": .string(names[5]), "ParameterVersion": 1, "Labels": ["stable"]])
        let gone = "\(prefix)/gone"
        try await put(gone)
        try await moto.seed("ssm", "DeleteParameter", ["Name": .string(gone)])
        let missing = "\(prefix)/missing"

        func query(_ id: String, _ policy: VersionPolicy = .current, locked: String?, as name: String? = nil) -> VersionQuery {
            VersionQuery(reference: SecretReference(name: name ?? id, id: id, policy: policy), lockedVersion: locked)
        }
        var queries = names.map { query($0, locked: "1") }
        let labelled = query(names[5], .stage("stable"), locked: "1", as: "stable")
        let pinnedRotated = query(names[10], .version("1"), locked: "1", as: "pinned-rotated")
        let pinnedCurrent = query(names[11], .version("1"), locked: "1", as: "pinned-current")
        let deleted = query(gone, locked: "1")
        let unknown = query(missing, locked: nil)
        queries += [labelled, pinnedRotated, pinnedCurrent, deleted, unknown]
        try moto.resetProxy()

        let describeWaits = WaitLog(), historyWaits = WaitLog()
        let statuses = try await provider(describeWaits: describeWaits, historyWaits: historyWaits).inspectByQuery(queries)

        // 122 names in 3 calls of at most 50; a history only for the 12 rotated names (the pinned
        // query on a rotated name shares its name's history) and the label's name.
        XCTAssertEqual(try started(), ["AmazonSSM.DescribeParameters": 3, "AmazonSSM.GetParameterHistory": 13])
        // moto answers DescribeParameters 10 a page whatever MaxResults asks (`page_size = 10` in
        // moto/ssm/responses.py), so the calls of 50, 50 and 22 names read 5 + 5 + 3 pages; AWS
        // honours MaxResults up to 50, one page a call.
        XCTAssertEqual(try moto.received(), ["AmazonSSM.DescribeParameters": 13, "AmazonSSM.GetParameterHistory": 13])
        XCTAssertEqual(try moto.decrypting(), [:], "nothing asked for decryption")
        let describeCount = await describeWaits.seconds.count
        let historyCount = await historyWaits.seconds.count
        XCTAssertEqual(describeCount, 13, "every DescribeParameters page waits for its pacer")
        XCTAssertEqual(historyCount, 13, "every GetParameterHistory call waits for its pacer")

        for (index, name) in names.enumerated() {
            let status = try XCTUnwrap(statuses[queries[index]]).get()
            XCTAssertEqual(status.selected, index % 10 == 0 ? "2" : "1", name)
            XCTAssertEqual(status.locked, .present, name)
        }
        XCTAssertEqual(try statuses[labelled]?.get().selected, "1")
        XCTAssertEqual(try statuses[pinnedRotated]?.get().selected, "1")
        XCTAssertEqual(try statuses[pinnedRotated]?.get().locked, .present)
        XCTAssertEqual(try statuses[pinnedCurrent]?.get().selected, "1")
        guard case .gone? = try statuses[deleted]?.get().locked else { return XCTFail("the deleted parameter's version is gone") }
        XCTAssertEqual(statuses[unknown]?.failure?.kind, .notFound)

        // Asked one query at a time (a call per name, a history per query that needs one), every
        // status and failure is the same.
        try moto.resetProxy()
        let alone = try provider(describeWaits: WaitLog(), historyWaits: WaitLog())
        let differences = await alone.differencesAskedAlone(queries, from: statuses)
        XCTAssertEqual(differences, [])
        XCTAssertEqual(try started()["AmazonSSM.DescribeParameters"], queries.count)
        let messages = texts(statuses)
        for canary in canaries {
            XCTAssertEqual(canary.leaks(in: messages), [], "a value leaked into a status")
        }
    }

    /// Calls the proxy saw start (requests without a NextToken), per X-Amz-Target.
    func started() throws -> [String: Int] {
        guard case .object(let object)? = try moto.proxyControl("stats")["starting"] else { return [:] }
        return object.compactMapValues(\.int)
    }
}
