import Foundation
import XCTest
@testable import InjectSecretsCore
@testable import InjectSecretsDeploy
@testable import InjectSecretsKit

/// `deploy`'s digest of a function leaves out the version of a secret the function only follows
/// (`${ref.NAME:current}`), and keeps everything else that shapes its rendered environment.
extension RenderStagesTests {
    func section(_ functions: [FunctionDefinition], version: String = "v1", locator: String = "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCd") -> LockFile.Section {
        var section = LockFile.Section()
        for function in functions {
            section.functions[function.name] = .init(secrets: function.secretNames, outputs: [])
        }
        section.secrets["db"] = .init(provider: "aws", type: "aws-secrets-manager", id: "app/db", policy: "current", version: version, locator: locator)
        return section
    }

    func testTheDigestOfAFollowerLeavesOutTheVersionAndKeepsWhatShapesItsLine() throws {
        let follower = try function("follower", ["A": "${ref.db:current}", "B": "${ref.db.password:current}"])
        let pinner = try function("pinner", ["A": "${secrets.db.password}"])
        let mixed = try function("mixed", ["A": "${ref.db:current}", "B": "${ref.db}"])
        let functions = [follower, pinner, mixed]
        XCTAssertEqual(follower.followedSecretNames, ["db"])
        XCTAssertEqual(pinner.followedSecretNames, [])
        XCTAssertEqual(mixed.followedSecretNames, [], "a pinned reference in the same function keeps the version")
        XCTAssertEqual(RenderStages.followers(functions), ["db": ["follower"]])

        func digest(_ function: FunctionDefinition, _ section: LockFile.Section) -> String {
            DeploymentTag.digest(function, environment: "prod", section: section)
        }
        let before = section(functions)
        let rotated = section(functions, version: "v2")
        XCTAssertEqual(digest(follower, before), digest(follower, rotated))
        XCTAssertNotEqual(digest(pinner, before), digest(pinner, rotated))
        XCTAssertNotEqual(digest(mixed, before), digest(mixed, rotated))

        // What the rendered reference line is made of still moves the follower's digest.
        var changed: [LockFile.Section] = [section(functions, locator: "arn:aws:secretsmanager:us-east-1:1:secret:db-XyZw")]
        for edit in [\LockedSecret.provider, \.type, \.id, \.policy] as [WritableKeyPath<LockedSecret, String>] {
            var section = before
            section.secrets["db"]![keyPath: edit] += "-other"
            changed.append(section)
        }
        for section in changed {
            XCTAssertNotEqual(digest(follower, section), digest(follower, before))
        }
        XCTAssertNotEqual(DeploymentTag.digest(follower, environment: "dev", section: before), digest(follower, before))
        XCTAssertNotEqual(digest(try function("follower", ["A": "${ref.db}"]), before), digest(follower, before), "pinning it changes the digest")
    }

    func testDriftDeployedTakesTheDigestAnEarlierDeployWroteForAFollower() throws {
        let follower = try function("follower", ["A": "${ref.db:current}"])
        let pinner = try function("pinner", ["A": "${secrets.db}"])
        let section = section([follower, pinner])
        let earlier = DeploymentTag.digest("follower", environment: nil, section: section, following: [])
        XCTAssertEqual(DeploymentTag.accepted(follower, environment: nil, section: section),
                       [DeploymentTag.digest(follower, environment: nil, section: section), earlier])
        XCTAssertNotEqual(DeploymentTag.digest(follower, environment: nil, section: section), earlier)
        XCTAssertEqual(DeploymentTag.accepted(pinner, environment: nil, section: section),
                       [DeploymentTag.digest(pinner, environment: nil, section: section)], "nothing followed: one digest, as before")
    }
}
