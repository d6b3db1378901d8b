import XCTest
@testable import InjectSecretsKit

final class DiagnosticTests: XCTestCase {
    func testCompilerFormatWithAndWithoutPlace() {
        let located = Diagnostic.error("unknown key 'fucntions'", at: SourceLocation(path: "m.yaml", line: 3, column: 5))
        XCTAssertEqual(located.description, "m.yaml:3:5: error: unknown key 'fucntions'")
        XCTAssertEqual(Diagnostic.error("no manifest").description, "error: no manifest")
    }

    /// A location keeps its file as a number: the same path is the same file, and locations still
    /// compare, sort and print by path, line and column.
    func testLocationsOfTheSamePathAreEqualAndSortByPathLineAndColumn() {
        let path = "deploy/inject-secrets.yaml"
        let a = SourceLocation(path: path, line: 3, column: 7)
        let b = SourceLocation(path: String("deploy/") + "inject-secrets.yaml", line: 3, column: 7)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.hashValue, b.hashValue)
        XCTAssertEqual(a.file, SourceFile(path))
        XCTAssertNotEqual(a, SourceLocation(path: "other.yaml", line: 3, column: 7))
        XCTAssertEqual(a.description, "deploy/inject-secrets.yaml:3:7")
        let places = [
            SourceLocation(path: "b.yaml", line: 1, column: 1), SourceLocation(path: path, line: 10, column: 2),
            SourceLocation(path: "a.yaml", line: 9, column: 9), SourceLocation(path: path, line: 3, column: 8), a,
        ]
        XCTAssertEqual(places.sorted().map(\.description), [
            "a.yaml:9:9", "b.yaml:1:1", "deploy/inject-secrets.yaml:3:7", "deploy/inject-secrets.yaml:3:8",
            "deploy/inject-secrets.yaml:10:2",
        ])
        var moved = a
        moved.path = "a.yaml"
        XCTAssertEqual(moved, SourceLocation(path: "a.yaml", line: 3, column: 7))
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
