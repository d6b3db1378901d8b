import Foundation
import XCTest
import TestSupport

/// `drift` of many SSM parameters through the built executable against moto and its counting proxy:
/// `metadata-rate:` is the pace of DescribeParameters. The bounds are one-sided and generous: a run
/// takes at least the time the pace imposes on the calls the proxy counted, and a high rate is not
/// held to the default's pace.
final class ParameterStoreMetadataPaceTests: MotoTestCase {
    /// moto answers DescribeParameters 10 parameters a page whatever MaxResults asks (AWS: up to 50),
    /// so each call of 50 names is 5 requests here, and every request waits for the pacer.
    static let motoPage = 10

    /// Seeds `count` SecureString parameters (a canary value each), writes a manifest reading them all
    /// through `ssm` with `metadata-rate: RATE`, and renders it, so the lock holds every current version.
    func project(count: Int, rate: String) async throws {
        let names = (0..<count).map { String(format: "/pace-\(run)/p%03d", $0) }
        var values: [String] = []
        for _ in names {
            let canary = Canary("ssm")
            canaries.append(canary)
            values.append(canary.value)
        }
        let seeder = moto.seeder("ssm")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, name) in names.enumerated() {
                if index >= 8 { try await group.next() }
                let input: JSON = ["Name": .string(name), "Value": .string(values[index]), "Type": "SecureString"]
                group.addTask { _ = try await seeder.call("PutParameter", input, as: JSON.self) }
            }
            try await group.waitForAll()
        }
        // Ten variables a function keeps each Lambda environment far under 4 KB.
        let secrets = names.enumerated().map { "  p\($0.offset): { provider: ssm, id: '\($0.element)' }" }
        let functions = stride(from: 0, to: count, by: 10).map { start in
            let env = (start..<min(start + 10, count)).map { "P\($0): \"${secrets.p\($0)}\"" }.joined(separator: ", ")
            return "  f\(start):\n    env: { \(env) }\n    outputs: [{ format: dotenv }]"
        }
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  ssm: { type: aws-ssm, region: us-east-1, endpoint: '\(moto.proxy.baseURL)', metadata-rate: \(rate) }
                secrets:
                \(secrets.joined(separator: "\n"))
                functions:
                \(functions.joined(separator: "\n"))

                """
        ], in: directory)
        let render = try runTool(["render"])
        XCTAssertEqual(render.status, 0, render.stderr)
    }

    @discardableResult
    func runTool(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try TestSupport.runTool(
            arguments, in: directory, environment: moto.identities.session.environment(region: nil), canaries: watched,
            valuesOnlyIn: [".build/inject-secrets/"], file: file, line: line)
    }

    /// Renders `count` parameters at `metadata-rate: RATE`, then times `drift`, which must find nothing
    /// changed in one DescribeParameters call per 50 names (a request per moto page) and no history;
    /// returns its duration and the DescribeParameters requests the proxy saw.
    func timedDrift(of count: Int, rate: String, file: StaticString = #filePath, line: UInt = #line) async throws
        -> (seconds: Double, requests: Int)
    {
        try await project(count: count, rate: rate)
        try moto.resetProxy()
        let started = Date()
        let drift = try runTool(["drift"], file: file, line: line)
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(drift.status, 0, "nothing changed since the render: \(drift.stdout)\n\(drift.stderr)", file: file, line: line)
        let calls = try moto.proxyControl("stats")["starting"]?["AmazonSSM.DescribeParameters"]?.int
        let received = try moto.received()
        XCTAssertEqual(calls, (count + 49) / 50, "calls of 50 names", file: file, line: line)
        XCTAssertEqual(received["AmazonSSM.DescribeParameters"], count / Self.motoPage, "pages", file: file, line: line)
        XCTAssertNil(received["AmazonSSM.GetParameterHistory"], "every locked version is current: no history read", file: file, line: line)
        return (seconds, received["AmazonSSM.DescribeParameters"] ?? 0)
    }

    /// 100 parameters: 2 DescribeParameters calls of 50 names, 10 requests on moto. At one a second
    /// after a burst of one, the last starts 9 s in; at the default of 3 a second it would start 2.3 s in.
    func testALowRateSpacesDescribeParametersOutToIt() async throws {
        let drift = try await timedDrift(of: 100, rate: "1")
        let paced = Double(drift.requests - 1) / 1
        XCTAssertGreaterThanOrEqual(drift.seconds, paced * 0.9, "\(drift.requests) requests at 1 a second")
    }

    /// 300 parameters: 6 calls, 30 requests on moto. At the default of 3 a second they would take at
    /// least 9 s; at 1,000 a second nothing waits, and the run ends well before.
    func testAHighRateIsNotHeldToTheDefaultPace() async throws {
        let drift = try await timedDrift(of: 300, rate: "1000")
        let atTheDefault = Double(drift.requests - 3) / 3
        XCTAssertLessThan(drift.seconds, atTheDefault, "\(drift.requests) requests at 1,000 a second")
    }
}
