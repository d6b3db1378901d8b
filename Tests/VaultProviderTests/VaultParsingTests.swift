import Foundation
import XCTest
@testable import InjectSecretsVault

/// The wire details that need no server: raw entry text, deletion times, error texts.
final class VaultParsingTests: XCTestCase {
    func testEntryValueKeepsVaultsJSONText() throws {
        let body = #"""
            {"request_id":"x","data":{"metadata":{"version":3,"deletion_time":"","destroyed":false},
             "data":{"n": 1.50, "big": 12345678901234567890, "s":"a\"}b", "nested":{"k":[1,{"x":"]"}]}}},
             "warnings":null}
            """#
        let entry = try XCTUnwrap(VaultKVEntry(body: Data(body.utf8)))
        XCTAssertEqual(entry.version, 3)
        XCTAssertEqual(
            entry.valueJSON, #"{"n": 1.50, "big": 12345678901234567890, "s":"a\"}b", "nested":{"k":[1,{"x":"]"}]}}"#)
        XCTAssertFalse(entry.deleted)
    }

    func testDeletedEntryHasNoValue() throws {
        let body = #"{"data":{"data":null,"metadata":{"version":2,"deletion_time":"2020-01-01T00:00:00.123456789Z","destroyed":false}}}"#
        let entry = try XCTUnwrap(VaultKVEntry(body: Data(body.utf8)))
        XCTAssertNil(entry.valueJSON)
        XCTAssertTrue(entry.deleted)
    }

    func testScheduledDeletionIsStillLive() throws {
        let now = Date()
        let json: [String: Any] = [
            "data": [
                "current_version": 3,
                "versions": [
                    "1": ["deletion_time": "", "destroyed": true],
                    "2": ["deletion_time": "2099-01-01T00:00:00.5Z", "destroyed": false],
                    "3": ["deletion_time": "2021-06-01T10:00:00.000000001Z", "destroyed": false],
                ],
            ]
        ]
        let metadata = try XCTUnwrap(VaultKVMetadata(json: json, now: now))
        XCTAssertEqual(metadata.newestLive, 2, "3 is deleted, 2 is only scheduled for deletion, 1 is destroyed")
        XCTAssertTrue(metadata.versions[1]!.destroyed)
        XCTAssertNil(VaultKVMetadata(json: ["data": ["versions": ["x": [:]]]]), "not KV v2 metadata")
    }

    func testErrorsAreQuotedWithoutVaultsWrapping() {
        let body = #"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#
        XCTAssertEqual(VaultResponse(status: 403, body: Data(body.utf8)).errorsText, "permission denied")
        XCTAssertEqual(VaultResponse(status: 404, body: Data(#"{"errors":[]}"#.utf8)).errorsText, "")
        XCTAssertEqual(VaultResponse(status: 502, body: Data("<html>bad gateway</html>".utf8)).errorsText, "")
    }

    func testTokenNeverPrints() {
        let token = VaultToken("s.very-secret")
        XCTAssertEqual("\(token)", "<redacted>")
        var dumped = ""
        dump(token, to: &dumped)
        XCTAssertFalse(dumped.contains("very-secret"))
    }

    func testPathsAreEncodedPerSegment() {
        XCTAssertEqual(vaultPathEncoded("/a b/c?d#e/"), "a%20b/c%3Fd%23e")
        XCTAssertEqual(VaultProvider.cleanPath("//app//db/"), "app/db")
    }
}
