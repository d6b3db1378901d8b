import Foundation
import XCTest
@testable import InjectSecretsCore
@testable import InjectSecretsKit
import TestSupport

/// The pure stages of render, on values built in memory: which secrets need a value, which follow
/// rotations, the next lock section of a partial and a full run, and the next render record.
final class RenderStagesTests: XCTestCase {
    let place = SourceLocation(path: "m.yaml", line: 1, column: 1)

    func function(_ name: String, _ env: [String: String]) throws -> FunctionDefinition {
        let variables = try env.keys.sorted().map { key in
            VariableDefinition(key: key, template: try TemplateParser.parse(env[key]!, origin: .init(location: place)), location: place)
        }
        return FunctionDefinition(name: name, location: place, variables: variables, outputs: [], lambdaNode: nil)
    }

    func declaration(_ name: String) -> SecretDeclaration {
        SecretDeclaration(
            name: name, providerName: "p", providerType: "memory", id: Template(segments: [.literal(name)], source: name),
            policy: .current, location: place)
    }

    func testValueAndFollowingNamesSeparateTheFormsAcrossFunctions() throws {
        let functions = [
            try function("a", ["X": "${ref.db}", "Y": "${secrets.api}", "Z": "${ref.cache:current}"]),
            try function("b", ["X": "${ref.token:current}", "Y": "${ref.api.key}", "Z": "${ref.cache:current}"]),
        ]
        XCTAssertEqual(RenderStages.valueNames(functions), ["api"])
        XCTAssertEqual(RenderStages.followingNames(functions), ["cache", "token"])
        XCTAssertEqual(RenderStages.followingNames(functions + [try function("c", ["X": "${ref.token}"])]), ["cache"])
        XCTAssertEqual(functions[1].secretNames, ["api", "cache", "token"], "references count for the lock like values")
    }

    func testNextLockSectionKeepsOtherFunctionsOnAPartialRunAndDropsThemOnAFullOne() throws {
        var previous = LockFile.Section()
        previous.functions = ["old": .init(secrets: ["gone"], outputs: []), "app": .init(secrets: ["db"], outputs: [])]
        previous.secrets = [
            "gone": .init(provider: "p", type: "memory", id: "gone", policy: "current", version: "g1"),
            "db": .init(provider: "p", type: "memory", id: "db", policy: "current", version: "v1", locator: "memory://db"),
        ]
        let app = try function("app", ["DB": "${ref.db}"])
        let references = ["db": SecretReference(name: "db", id: "db", policy: .current)]
        let versions = ["db": SettledVersion(version: "v2", locator: "memory://db")]

        let partial = RenderStages.nextLockSection(
            previous: previous, fullRun: false, functions: [app], references: references, versions: versions,
            declarations: ["db": declaration("db")])
        XCTAssertEqual(Set(partial.section.functions.keys), ["old", "app"])
        XCTAssertEqual(partial.section.secrets["gone"]?.version, "g1", "still used by a function outside the run")
        XCTAssertEqual(partial.section.secrets["db"], .init(provider: "p", type: "memory", id: "db", policy: "current", version: "v2", locator: "memory://db"))
        XCTAssertEqual(partial.secrets.map(\.previous), ["v1"])

        let full = RenderStages.nextLockSection(
            previous: previous, fullRun: true, functions: [app], references: references, versions: versions,
            declarations: ["db": declaration("db")])
        XCTAssertEqual(Set(full.section.functions.keys), ["app"])
        XCTAssertEqual(Set(full.section.secrets.keys), ["db"])
    }

    func testSettleRefusesAGoneOrUnselectedVersionAndNextRecordHoldsReferencedVersions() throws {
        let settled = RenderStages.settle([
            "ok": .success(VersionStatus(selected: "v3", locator: "memory://ok")),
            "gone": .success(VersionStatus(selected: "v3", locked: .gone(reason: "destroyed"))),
            "none": .success(VersionStatus(selected: nil)),
        ], policies: ["none": .stage("AWSPREVIOUS")])
        XCTAssertEqual(try settled["ok"]?.get(), SettledVersion(version: "v3", locator: "memory://ok"))
        XCTAssertThrowsError(try settled["gone"]?.get()) { XCTAssertTrue("\($0)".contains("destroyed"), "\($0)") }
        XCTAssertThrowsError(try settled["none"]?.get()) { XCTAssertTrue("\($0)".contains("stage:AWSPREVIOUS"), "\($0)") }

        let app = FunctionDefinition(
            name: "app", location: place, variables: try function("app", ["DB": "${ref.ok}"]).variables,
            outputs: [OutputDefinition(format: .json, absolutePath: "/p/out/app.json", manifestFolder: "/p", location: place)], lambdaNode: nil)
        let record = RenderStages.nextRecord(
            previous: RenderRecord(), planned: [(app, app.outputs[0])], versions: ["ok": try settled["ok"]!.get()],
            environment: nil, identity: { _ in "id-1" })
        XCTAssertEqual(record.outputs["out/app.json"]?.versions, ["ok": "v3"])
        XCTAssertEqual(record.outputs["out/app.json"]?.fileIdentity, "id-1")
    }
}
