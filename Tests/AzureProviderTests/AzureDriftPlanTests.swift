import Foundation
import TestSupport
import XCTest

@testable import InjectSecretsAzure
@testable import InjectSecretsKit

/// Azure Key Vault drift at scale against fake_key_vault.py: one version listing per secret, every
/// page through the vault's pacer, no value read, and the same statuses as asking about each query alone.
final class AzureDriftPlanTests: XCTestCase {
    static let tenant = "11111111-1111-1111-1111-111111111111"
    static let clientID = "22222222-2222-2222-2222-222222222222"
    let clientSecret = Canary("client-secret")
    var fake: FakeKeyVault!
    var directory: URL!

    override func setUp() async throws {
        guard which("python3") != nil else {
            let message = try missingServer("python3 (for the Key Vault stand-in)", install: "apt-get install python3")
            throw XCTSkip(message)
        }
        fake = try FakeKeyVault()
        directory = try makeTemporaryDirectory("azure-plan")
        try await fake.control("configure", [
            "tenant": Self.tenant, "page_cap": 2,
            "clients": [Self.clientID: ["tenants": [Self.tenant], "secret": clientSecret.value]],
        ])
    }

    override func tearDown() {
        fake?.stop()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// A provider whose listing pacer never sleeps but logs every wait: on a clock that stands still
    /// with no burst, each request admitted is one wait.
    func provider(waits: WaitLog) throws -> AzureKeyVaultProvider {
        let environment = [
            "AZURE_TENANT_ID": Self.tenant, "AZURE_CLIENT_ID": Self.clientID, "AZURE_CLIENT_SECRET": clientSecret.value,
            "AZURE_AUTHORITY_HOST": fake.baseURL,
        ]
        let made = try AzureKeyVaultKind.make(providerDeclaration(
            [("type", AzureKeyVaultKind.typeName), ("vault-url", fake.baseURL)], name: "azure", path: "m.yaml",
            baseDirectory: directory, environment: environment))
        let provider = try XCTUnwrap(made as? AzureKeyVaultProvider)
        provider.listingPacer = CallPacer(rate: 1_000, burst: 0, now: { 0 }, sleep: { await waits.add($0) })
        return provider
    }

    func testDriftOfManySecretsListsEachOnceThroughThePacerWithUnchangedResults() async throws {
        var canaries: [Canary] = []
        func seed(_ name: String) async throws -> String {
            let canary = Canary(name)
            canaries.append(canary)
            return try await fake.seed(name, canary.value)
        }
        let names = (0..<40).map { String(format: "fleet-%02d", $0) }
        var first: [String: String] = [:], latest: [String: String] = [:]
        for (index, name) in names.enumerated() {
            first[name] = try await seed(name)
            latest[name] = first[name]
            // Every fifth secret rotated twice: 3 versions, 2 pages of 2.
            if index % 5 == 0 {
                _ = try await seed(name)
                latest[name] = try await seed(name)
            }
        }
        var queries = names.map { VersionQuery(reference: SecretReference(name: $0, id: $0, policy: .current), lockedVersion: first[$0]) }
        let pinned = VersionQuery(
            reference: SecretReference(name: "pinned", id: names[0], policy: .version(first[names[0]]!)), lockedVersion: first[names[0]])
        let deleted = VersionQuery(reference: SecretReference(name: "fleet-gone", id: "fleet-gone", policy: .current), lockedVersion: String(repeating: "a", count: 32))
        queries += [pinned, deleted]

        let waits = WaitLog()
        let statuses = try await provider(waits: waits).inspectByQuery(queries)

        // 41 listings (the pinned query shares its secret's) of 1 page, 2 for the 8 rotated secrets.
        let counters = try await fake.counters()
        XCTAssertEqual(counters.listPages, 48)
        XCTAssertTrue(counters.valueReads.isEmpty, "drift reads no value: \(counters.valueReads)")
        let admitted = await waits.seconds.count
        XCTAssertEqual(admitted, 41 + 8, "every listing request waits for the pacer")
        for name in names {
            let status = try XCTUnwrap(statuses[queries[names.firstIndex(of: name)!]]).get()
            XCTAssertEqual(status.selected, latest[name], name)
            XCTAssertEqual(status.locked, .present, name)
        }
        XCTAssertEqual(try statuses[pinned]?.get().selected, first[names[0]])
        XCTAssertEqual(try statuses[deleted]?.get().locked, .gone(reason: "deleted"))

        // Asked one query at a time, every status is the same.
        let alone = try provider(waits: WaitLog())
        let differences = await alone.differencesAskedAlone(queries, from: statuses)
        XCTAssertEqual(differences, [])
        let texts = statusTexts(statuses)
        for canary in canaries + [clientSecret] {
            XCTAssertEqual(canary.leaks(in: texts), [], "a value or the client secret leaked into a status")
        }
    }
}
