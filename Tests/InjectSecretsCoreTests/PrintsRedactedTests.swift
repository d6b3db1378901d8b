import Foundation
import XCTest

@testable import InjectSecretsAWS
@testable import InjectSecretsAzure
@testable import InjectSecretsKit

/// Every type that holds a secret prints, dumps and reflects through the one rule (`PrintsRedacted`):
/// whatever a message, a log line or a failing assertion does with it, the secret stays out.
final class PrintsRedactedTests: XCTestCase {
    let secret = "s3cr3t-" + UUID().uuidString

    func shown(_ value: Any) -> [String] {
        var dumped = ""
        dump(value, to: &dumped)
        return ["\(value)", String(describing: value), String(reflecting: value), dumped,
                Mirror(reflecting: value).children.map { "\($0.label ?? ""): \($0.value)" }.joined(separator: ", ")]
    }

    func testNoHolderOfASecretShowsIt() {
        let holders: [Any] = [
            SecretValue(secret), CredentialText(secret),
            AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: secret, sessionToken: secret),
            AzureAccessToken(token: secret, expiresOn: Date(timeIntervalSince1970: 0)),
        ]
        for holder in holders {
            for text in shown(holder) {
                XCTAssertFalse(text.contains(secret), "\(type(of: holder)) showed its secret: \(text)")
            }
        }
    }

    func testThePartsThatAreNoSecretStayVisible() {
        XCTAssertEqual("\(SecretValue(secret))", "<redacted>")
        XCTAssertEqual(String(reflecting: CredentialText(secret)), "<redacted>")
        let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: secret)
        XCTAssertEqual("\(credentials)", "AWSCredentials(AKIDEXAMPLE, <redacted>)")
        XCTAssertEqual(Mirror(reflecting: credentials).children.map(\.label), ["accessKeyId"])
        let token = AzureAccessToken(token: secret, expiresOn: Date(timeIntervalSince1970: 0))
        XCTAssertTrue("\(token)".hasPrefix("AzureAccessToken(<redacted>, expires 1970-01-01"), "\(token)")
        XCTAssertEqual(Mirror(reflecting: token).children.map(\.label), ["expiresOn"])
    }
}
