import Foundation
import XCTest
import InjectSecretsRuntime
import TestSupport

/// `deploy` of a function whose environment holds only `${ref.*}` references: Lambda's configuration
/// (read back from moto) carries the pinned references and no value; a rotation makes the Lambda stale
/// until render and deploy move the reference.
extension LambdaDeployTests {
    func lockedVersion(_ name: String) throws -> String? {
        let lock = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("inject-secrets.lock"))) as? [String: Any]
        return ((lock?["secrets"] as? [String: [String: String]])?[name])?["version"]
    }

    func testDeployOfReferencesPutsNoValueInLambdasConfiguration() throws {
        let first = try putPassword("ref-lambda-pw")
        let lambdaName = "e2e-\(run)-refs"
        try createFunctions([lambdaName])
        try writeFiles(["inject-secrets.yaml": awsManifest(endpoint: moto.baseURL, secrets: """
              db: { provider: aws, id: e2e-\(run)/db }
            """, functions: """
              checkout:
                env:
                  DB_PASSWORD: ${ref.db.password}
                  DB_FOLLOWING: ${ref.db:current}
                outputs: [{ format: lambda }]
                lambda: { name: \(lambdaName), region: us-east-1 }
            """)], in: directory)

        XCTAssertEqual(try runTool(["render"]).status, 0)
        let deployed = try runTool(["deploy"])
        XCTAssertEqual(deployed.status, 0, deployed.stderr)
        var variables = try XCTUnwrap(deployedState([lambdaName])[lambdaName]).variables
        XCTAssertEqual(Set(variables.keys), ["DB_PASSWORD", "DB_FOLLOWING"])
        let pinned = try RuntimeReference(parsing: try XCTUnwrap(variables["DB_PASSWORD"]))
        XCTAssertEqual(pinned.store, .secretsManager)
        XCTAssertEqual(pinned.selector, .version(try XCTUnwrap(lockedVersion("db"))))
        XCTAssertEqual(pinned.key, "password")
        XCTAssertEqual(try RuntimeReference(parsing: try XCTUnwrap(variables["DB_FOLLOWING"])).selector, .stage("AWSCURRENT"))
        for canary in canaries {
            XCTAssertEqual(canary.leaks(in: ["Lambda configuration": variables.values.joined(separator: "\n")]), [])
        }
        XCTAssertEqual(try runTool(["drift", "--deployed"]).status, 0)

        // A rotation: the pinned reference is old (drift), and after render the Lambda is stale until deploy.
        _ = try putPassword("ref-lambda-pw2")
        XCTAssertEqual(try runTool(["drift"]).status, 1)
        XCTAssertEqual(try runTool(["render"]).status, 0)
        let stale = try runTool(["drift", "--deployed"])
        XCTAssertEqual(stale.status, 1, stale.stdout)
        XCTAssertTrue(stale.stdout.contains("deployed-stale"), stale.stdout)
        XCTAssertEqual(try runTool(["deploy"]).status, 0)
        variables = try XCTUnwrap(deployedState([lambdaName])[lambdaName]).variables
        let moved = try RuntimeReference(parsing: try XCTUnwrap(variables["DB_PASSWORD"]))
        XCTAssertNotEqual(moved.selector, pinned.selector)
        XCTAssertEqual(moved.selector, .version(try XCTUnwrap(lockedVersion("db"))))
        XCTAssertEqual(moved.arn, pinned.arn)
        for canary in canaries {
            XCTAssertEqual(canary.leaks(in: ["Lambda configuration": variables.values.joined(separator: "\n")]), [])
        }
        XCTAssertFalse(variables.values.contains(first))
    }
}
