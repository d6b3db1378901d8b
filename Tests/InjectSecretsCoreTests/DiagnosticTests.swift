import XCTest
@testable import InjectSecretsKit

final class DiagnosticTests: XCTestCase {
    func testCompilerFormatWithAndWithoutPlace() {
        let located = Diagnostic.error("unknown key 'fucntions'", at: SourceLocation(path: "m.yaml", line: 3, column: 5))
        XCTAssertEqual(located.description, "m.yaml:3:5: error: unknown key 'fucntions'")
        XCTAssertEqual(Diagnostic.error("no manifest").description, "error: no manifest")
    }

    func testDidYouMeanFindsNearMissOnly() {
        XCTAssertEqual(closestMatch(to: "fucntions", in: ["functions", "providers"]), "functions")
        XCTAssertNil(closestMatch(to: "zzz", in: ["functions", "providers"]))
    }

    func testSecretValueNeverPrints() {
        let value = SecretValue("hunter2")
        XCTAssertEqual("\(value)", "<redacted>")
        XCTAssertEqual(String(reflecting: value), "<redacted>")
        var dumped = ""
        dump(value, to: &dumped)
        XCTAssertFalse(dumped.contains("hunter2"))
    }

    func testPlainHTTPOnlyToLoopback() throws {
        XCTAssertNoThrow(try EndpointPolicy.checked("http://127.0.0.1:8200"))
        XCTAssertNoThrow(try EndpointPolicy.checked("http://127.9.0.1"))
        XCTAssertNoThrow(try EndpointPolicy.checked("http://localhost:8200"))
        XCTAssertNoThrow(try EndpointPolicy.checked("http://[::1]:8200"))
        XCTAssertNoThrow(try EndpointPolicy.checked("https://vault.example.com"))
        XCTAssertThrowsError(try EndpointPolicy.checked("http://vault.example.com")) { error in
            XCTAssertTrue("\(error)".contains("HTTPS is required"))
        }
        XCTAssertThrowsError(try EndpointPolicy.checked("http://128.0.0.1"))
        XCTAssertThrowsError(try EndpointPolicy.checked("http://127.0.0.1.evil.com"))
    }
}
