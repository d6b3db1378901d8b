import Foundation
import XCTest
import TestSupport

/// A function that reads a secret only through `${ref.NAME:current}` follows its rotations by itself:
/// after a rotation and a render, `drift --deployed` does not ask to deploy it, while the functions that
/// read the same secret by value or by a pinned reference are stale until deployed.
extension LambdaDeployTests {
    /// The Secrets Manager secret `db` read three ways: only following (`follower`), by value (`pinner`),
    /// and both following and pinned in one function (`mixed`).
    func writeFollowingManifest(_ lambdas: [String: String]) throws {
        try writeFiles(["inject-secrets.yaml": awsManifest(endpoint: moto.baseURL, secrets: """
              db: { provider: aws, id: e2e-\(run)/db }
            """, functions: """
              follower:
                env:
                  DB_SECRET: ${ref.db:current}
                  DB_PASSWORD_REF: ${ref.db.password:current}
                outputs: [{ format: lambda }]
                lambda: { name: \(lambdas["follower"]!), region: us-east-1 }
              pinner:
                env: { DB_PASSWORD: '${secrets.db.password}' }
                outputs: [{ format: lambda }]
                lambda: { name: \(lambdas["pinner"]!), region: us-east-1 }
              mixed:
                env:
                  DB_FOLLOWING: ${ref.db:current}
                  DB_PINNED: ${ref.db.password}
                outputs: [{ format: lambda }]
                lambda: { name: \(lambdas["mixed"]!), region: us-east-1 }
            """)], in: directory)
    }

    /// `drift --deployed --format json` (`drift` with `deployed` false): its exit status, per entry kind
    /// the functions named, and the notes.
    func deployedDrift(deployed: Bool = true) throws -> (status: Int32, kinds: [String: Set<String>], notes: [String], stdout: String) {
        let result = try runTool(["drift", "--format", "json"] + (deployed ? ["--deployed"] : []))
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stderr)
        var kinds: [String: Set<String>] = [:]
        for entry in report["drift"] as? [[String: Any]] ?? [] {
            kinds[entry["kind"] as? String ?? "", default: []].formUnion(entry["functions"] as? [String] ?? [])
        }
        return (result.status, kinds, report["notes"] as? [String] ?? [], result.stdout)
    }

    func fileNumber(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(path).path)[.systemFileNumber] as? Int
    }

    func testARotationAsksNoDeployOfAFunctionThatOnlyFollowsTheSecret() throws {
        let first = try putPassword("follow-pw")
        let lambdas = ["follower": "e2e-\(run)-follower", "pinner": "e2e-\(run)-pinner", "mixed": "e2e-\(run)-mixed"]
        try createFunctions(lambdas.values.sorted())
        try writeFollowingManifest(lambdas)
        XCTAssertEqual(try runTool(["render"]).status, 0)
        let deployed = try runTool(["deploy"])
        XCTAssertEqual(deployed.status, 0, deployed.stderr)
        let before = try deployedState(lambdas.values.sorted())
        let follower = try XCTUnwrap(before[lambdas["follower"]!])
        XCTAssertEqual(Set(follower.variables.keys), ["DB_SECRET", "DB_PASSWORD_REF"])
        XCTAssertEqual(before[lambdas["pinner"]!]?.variables, ["DB_PASSWORD": first])
        for state in [follower, try XCTUnwrap(before[lambdas["mixed"]!])] {
            for canary in canaries {
                XCTAssertEqual(canary.leaks(in: ["Lambda configuration": state.variables.values.joined(separator: "\n")]), [])
            }
        }
        XCTAssertEqual(try deployedDrift().status, 0)
        let output = ".build/inject-secrets/follower.lambda.json"
        let bytes = try Data(contentsOf: directory.appendingPathComponent(output))
        let identity = try fileNumber(output)
        let version = try XCTUnwrap(lockedVersion("db"))

        // A rotation (PutSecretValue): drift names the functions that pin the secret, and notes the one
        // that follows it.
        let rotated = try putPassword("follow-pw2")
        let drift = try deployedDrift(deployed: false)
        XCTAssertEqual(drift.status, 1, drift.stdout)
        XCTAssertEqual(drift.kinds, ["rotated": ["pinner", "mixed"]], drift.stdout)
        XCTAssertTrue(drift.notes.contains {
            $0.hasSuffix("follower follows rotations by itself (${ref.db:current}), nothing to deploy for it")
        }, drift.stdout)

        // Render: the lock records the new current version, the follower's output is left alone, byte
        // for byte, and the outputs that hold the version are rewritten.
        let render = try runTool(["render"])
        XCTAssertEqual(render.status, 0, render.stderr)
        XCTAssertTrue(render.stdout.contains("unchanged \(output) (follower, lambda)"), render.stdout)
        XCTAssertTrue(render.stdout.contains("wrote .build/inject-secrets/pinner.lambda.json"), render.stdout)
        XCTAssertTrue(render.stdout.contains("wrote .build/inject-secrets/mixed.lambda.json"), render.stdout)
        XCTAssertTrue(render.stdout.contains("updated inject-secrets.lock"), render.stdout)
        XCTAssertNotEqual(try lockedVersion("db"), version)
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent(output)), bytes)
        XCTAssertEqual(try fileNumber(output), identity)

        // Only the functions whose environment holds the version are stale.
        let stale = try deployedDrift()
        XCTAssertEqual(stale.status, 1, stale.stdout)
        XCTAssertEqual(stale.kinds, ["deployed-stale": ["pinner", "mixed"]], stale.stdout)
        XCTAssertEqual(try runTool(["drift", "--deployed", "--function", "follower"]).status, 0)
        XCTAssertEqual(try runTool(["drift", "--deployed", "--verify", "--function", "follower"]).status, 0)

        XCTAssertEqual(try runTool(["deploy", "--function", "pinner", "--function", "mixed"]).status, 0)
        XCTAssertEqual(try deployedDrift().status, 0)
        let after = try deployedState(lambdas.values.sorted())
        XCTAssertEqual(after[lambdas["follower"]!]?.digest, follower.digest, "the follower was never redeployed")
        XCTAssertEqual(after[lambdas["follower"]!]?.variables, follower.variables)
        XCTAssertEqual(after[lambdas["pinner"]!]?.variables, ["DB_PASSWORD": rotated])
        XCTAssertNotEqual(after[lambdas["mixed"]!]?.digest, before[lambdas["mixed"]!]?.digest)
    }

    /// A Lambda deployed before followed versions left the digest carries one with every version in it.
    /// `drift --deployed` takes it as current while the lock records that version; once a render moves
    /// it, the Lambda is `deployed-stale` once, and one deploy ends that for good.
    func testADigestWrittenBeforeFollowedVersionsLeftItIsCurrentUntilTheLockMoves() throws {
        _ = try putPassword("legacy-pw")
        let lambdas = ["follower": "e2e-\(run)-follower", "pinner": "e2e-\(run)-pinner", "mixed": "e2e-\(run)-mixed"]
        try createFunctions(lambdas.values.sorted())
        try writeFollowingManifest(lambdas)
        XCTAssertEqual(try runTool(["render"]).status, 0)
        XCTAssertEqual(try runTool(["deploy"]).status, 0)

        // The earlier digest, worked out here from the lock as that version of deploy did; the pinner's
        // digest (no followed secret) is unchanged by the new rule, so it checks the computation.
        let legacy = try XCTUnwrap(boto("""
            import hashlib
            lock = json.load(open(\(String(reflecting: directory.appendingPathComponent("inject-secrets.lock").path))))
            def digest(function):
                text = "inject-secrets lock digest 1\\nfunction %s\\nenvironment \\n" % function
                for name in sorted(lock["functions"][function]["secrets"]):
                    e = lock["secrets"][name]
                    fields = [name, e["provider"], e["type"], e["id"], e["policy"], e["version"], e.get("locator", "")]
                    text += " ".join("%d:%s" % (len(f.encode()), f) for f in fields) + "\\n"
                return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
            print(json.dumps({f: digest(f) for f in ["follower", "pinner"]}))
            """) as? [String: String])
        let state = try deployedState(lambdas.values.sorted())
        XCTAssertEqual(state[lambdas["pinner"]!]?.digest, legacy["pinner"])
        let current = try XCTUnwrap(state[lambdas["follower"]!]?.digest)
        XCTAssertNotEqual(current, legacy["follower"])
        _ = try boto("""
            l = client("lambda")
            arn = l.get_function_configuration(FunctionName="\(lambdas["follower"]!)")["FunctionArn"]
            l.tag_resource(Resource=arn, Tags={"inject-secrets:lock-digest": "\(legacy["follower"]!)"})
            """)
        XCTAssertEqual(try deployedDrift().status, 0)

        _ = try putPassword("legacy-pw2")
        XCTAssertEqual(try runTool(["render"]).status, 0)
        let once = try deployedDrift()
        XCTAssertEqual(once.kinds, ["deployed-stale": ["follower", "pinner", "mixed"]], once.stdout)
        XCTAssertEqual(try runTool(["deploy"]).status, 0)
        XCTAssertEqual(try deployedState([lambdas["follower"]!])[lambdas["follower"]!]?.digest, current, "a rotation leaves the new digest as it was")

        // `rotate` does not count the follower among the functions to deploy either.
        let rotate = try runTool(["rotate", "db", "--key", "password", "--generate", "32", "--format", "json"])
        XCTAssertEqual(rotate.status, 0, rotate.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(rotate.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["stale"] as? [String], ["mixed", "pinner"], rotate.stdout)
        XCTAssertEqual(try runTool(["render"]).status, 0)
        let after = try deployedDrift()
        XCTAssertEqual(after.kinds, ["deployed-stale": ["pinner", "mixed"]], after.stdout)
    }
}
