import Foundation
import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsKit
import TestSupport

/// `metadata-rate:` on an `aws-ssm` provider, offline: what it sets DescribeParameters' and
/// GetParameterHistory's pace to, and how every command refuses a value outside it.
final class ParameterStoreMetadataRateTests: XCTestCase {
    let credentials = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-not-shown"]

    func provider(_ extra: String) throws -> AWSParameterStoreProvider {
        try AWSParameterStoreProvider(providerDeclaration(
            "type: aws-ssm\nregion: us-east-1\n\(extra)", name: "ssm", environment: credentials))
    }

    /// Each bucket gets the rate, with a burst of one second's whole calls and never less than one call.
    func testTheRateSetsBothPacersAndTheDefaultStaysThree() async throws {
        for (extra, rate, burst) in [
            ("", 3.0, 3.0), ("metadata-rate: ~\n", 3, 3), ("metadata-rate: 0.5\n", 0.5, 1), ("metadata-rate: 2.5\n", 2.5, 2),
            ("metadata-rate: 1e2\n", 100, 100), ("metadata-rate: '20'\n", 20, 20), ("metadata-rate: 1000\n", 1000, 1000),
        ] {
            let provider = try provider(extra)
            let describe = [await provider.describePacer.rate, await provider.describePacer.burst]
            let history = [await provider.historyPacer.rate, await provider.historyPacer.burst]
            XCTAssertEqual(describe, [rate, burst], extra)
            XCTAssertEqual(history, [rate, burst], extra)
        }
        XCTAssertEqual(try AWSParameterStore.settings(providerDeclaration(
            "type: aws-ssm\nregion: us-east-1\nmetadata-rate: 7\n", environment: credentials)).metadataRate, 7)
    }

    func testAValueOutsideTheRangeIsRefusedAtItsPlace() throws {
        for (value, found) in [
            ("0", "'0'"), ("-3", "'-3'"), ("fast", "'fast'"), ("1001", "'1001'"), ("1e9", "'1e9'"), ("nan", "'nan'"),
            (".inf", "'.inf'"), ("inf", "'inf'"), ("''", "''"), ("[3]", "a sequence"), ("{ per-second: 3 }", "a mapping"),
        ] {
            XCTAssertThrowsError(try provider("metadata-rate: \(value)\n"), value) { error in
                let error = error as? InjectSecretsError
                XCTAssertEqual(
                    error?.diagnostics.first?.message,
                    "setting 'metadata-rate' of provider 'ssm' must be a number of calls a second above 0 and at most 1000, found \(found)")
                XCTAssertEqual(error?.diagnostics.first?.location?.line, 3, value)
                XCTAssertEqual(error?.diagnostics.first?.location?.column, 16, value)
            }
        }
    }

    /// A manifest whose `ssm` provider has `metadata-rate: VALUE` on line 6, at column 20.
    func manifest(rate: String) -> String {
        """
        version: 1
        providers:
          ssm:
            type: aws-ssm
            region: us-east-1
            metadata-rate: \(rate)
        secrets:
          token: { provider: ssm, id: /app/token }
        functions:
          api:
            env: { TOKEN: "${secrets.token}" }
            outputs: [{ format: dotenv }]

        """
    }

    /// Every command reads the manifest's settings first: a bad rate is exit 2 with its place before any
    /// request (no endpoint or credentials are set up to reach), and nothing is written.
    func testEveryCommandRefusesABadRateWithExit2AndItsPlace() throws {
        let directory = try makeTemporaryDirectory("ssm-rate")
        defer { try? FileManager.default.removeItem(at: directory) }
        for (value, found) in [("0", "'0'"), ("-1", "'-1'"), ("3/s", "'3/s'"), ("5000", "'5000'")] {
            try writeFiles(["inject-secrets.yaml": manifest(rate: value)], in: directory)
            for verb in [["validate"], ["render"], ["drift"], ["policy"]] {
                let result = try runTool(verb, in: directory, environment: credentials, canaries: [credentials["AWS_SECRET_ACCESS_KEY"]!])
                XCTAssertEqual(result.status, 2, "\(verb) \(value): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains(
                    "inject-secrets.yaml:6:20: error: setting 'metadata-rate' of provider 'ssm' must be a number of calls a second above 0 and at most 1000, found \(found)"),
                    "\(verb) \(value): \(result.stderr)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent(".build").path))
                XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("inject-secrets.lock").path))
            }
        }
        try writeFiles(["inject-secrets.yaml": manifest(rate: "0.5")], in: directory)
        for verb in [["validate"], ["policy"]] {
            let result = try runTool(verb, in: directory, environment: credentials, canaries: [credentials["AWS_SECRET_ACCESS_KEY"]!])
            XCTAssertEqual(result.status, 0, "\(verb): \(result.stderr)")
        }
    }
}
