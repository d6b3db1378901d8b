import Foundation
import XCTest
@testable import InjectSecretsKit
import TestSupport

/// Vault drift at scale against OpenBao, counted in its audit log: one metadata read per path however
/// many queries ask about it, no data read, and the same statuses as asking about each query alone.
final class VaultDriftPlanTests: OpenBaoTestCase {
    func testDriftOfManyPathsReadsEachPathsMetadataOnceWithUnchangedResults() async throws {
        let bao = try server()
        let prefix = "plan-\(UUID().uuidString.prefix(8))"
        let paths = (0..<60).map { String(format: "\(prefix)/p%02d", $0) }
        var canaries: [Canary] = []
        for (index, path) in paths.enumerated() {
            for _ in 0..<(index % 6 == 0 ? 2 : 1) {  // every sixth path rotated: version 2
                let canary = Canary("kv")
                canaries.append(canary)
                try await bao.put(path, ["password": canary.value])
            }
        }
        let missing = "\(prefix)/missing"
        func query(_ name: String, _ path: String, _ policy: String = "current", locked: String?) -> VersionQuery {
            VersionQuery(reference: reference(name, path, policy), lockedVersion: locked)
        }
        var queries = paths.map { query($0, $0, locked: "1") }
        let pinned = query("pinned", paths[0], "1", locked: "1")
        let gone = query("gone", missing, locked: "1")
        queries += [pinned, gone]
        let provider = try makeVaultProvider("{type: vault, address: '\(bao.address)'}", environment: ["VAULT_TOKEN": "root"])

        let statuses = await provider.inspectByQuery(queries)

        for path in paths + [missing] {
            XCTAssertEqual(bao.auditedReads(of: "secret/metadata/\(path)"), 1, "one metadata read for \(path)")
            XCTAssertEqual(bao.auditedReads(of: "secret/data/\(path)"), 0, "drift reads no value of \(path)")
        }
        for (index, path) in paths.enumerated() {
            let status = try XCTUnwrap(statuses[queries[index]]).get()
            XCTAssertEqual(status.selected, index % 6 == 0 ? "2" : "1", path)
            XCTAssertEqual(status.locked, .present, path)
        }
        XCTAssertEqual(try statuses[pinned]?.get().selected, "1")

        // Asked one query at a time, every status and failure is the same.
        let differences = await provider.differencesAskedAlone(queries, from: statuses)
        XCTAssertEqual(differences, [])
        let texts = statusTexts(statuses)
        for canary in canaries {
            XCTAssertEqual(canary.leaks(in: texts), [], "a value leaked into a status")
        }
    }
}
