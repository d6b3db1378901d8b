import XCTest
@testable import InjectSecretsRuntime

final class RuntimeReferenceTests: XCTestCase {
    let secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
    let parameterARN = "arn:aws:ssm:us-east-1:123456789012:parameter/app/api-token"
    let versionId = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

    func testPinnedSecretWithKeyRoundTrips() throws {
        let line = "inject-secrets:ref:v1 secretsmanager \(secretARN) version=\(versionId) key=password"
        let reference = try RuntimeReference(parsing: line)
        XCTAssertEqual(reference.store, .secretsManager)
        XCTAssertEqual(reference.arn, secretARN)
        XCTAssertEqual(reference.selector, .version(versionId))
        XCTAssertEqual(reference.key, "password")
        XCTAssertFalse(reference.selector.followsRotation)
        XCTAssertEqual(reference.description, line)
    }

    func testEveryFormRoundTrips() throws {
        let references = [
            try RuntimeReference(store: .secretsManager, arn: secretARN, selector: .stage("AWSCURRENT")),
            try RuntimeReference(store: .secretsManager, arn: secretARN, selector: .version(versionId), key: "a b%c\u{1}é"),
            try RuntimeReference(store: .ssm, arn: parameterARN, selector: .version("12")),
            try RuntimeReference(store: .ssm, arn: parameterARN, selector: .stage("blue")),
            try RuntimeReference(store: .ssm, arn: parameterARN, selector: .current, key: "user.name"),
            try RuntimeReference(
                store: .secretsManager, arn: "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x-1:2-AbCdEf",
                selector: .stage("AWSPREVIOUS")),
        ]
        for reference in references {
            let line = reference.description
            XCTAssertEqual(line.split(separator: " ").count, reference.key == nil ? 4 : 5, line)
            XCTAssertEqual(try RuntimeReference(parsing: line), reference, line)
        }
        XCTAssertEqual(references[1].description.split(separator: " ").last, "key=a%20b%25c%01%C3%A9")
        XCTAssertEqual(references[0].description, "inject-secrets:ref:v1 secretsmanager \(secretARN) stage=AWSCURRENT")
        XCTAssertEqual(references[2].description, "inject-secrets:ref:v1 ssm \(parameterARN) version=12")
    }

    func testRefusals() {
        let prefix = RuntimeReference.prefix
        let cases: [(String, RuntimeReferenceError)] = [
            ("\(prefix) vault \(secretARN) version=\(versionId)", .unknownStore("vault")),
            ("\(prefix) secretsmanager \(secretARN)", .missingVersion),
            ("\(prefix) secretsmanager \(secretARN) \(versionId)", .missingVersion),
            ("\(prefix) secretsmanager prod/db version=\(versionId)",
             .badARN("prod/db", expected: "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME")),
            ("\(prefix) secretsmanager \(parameterARN) version=\(versionId)",
             .badARN(parameterARN, expected: "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME")),
            ("\(prefix) ssm arn:aws:ssm:us-east-1:12345:parameter/x version=1",
             .badARN("arn:aws:ssm:us-east-1:12345:parameter/x", expected: "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME")),
            ("\(prefix) ssm \(parameterARN) version=01", .badVersion("01", "an SSM version number (1, 2, ...)")),
            ("\(prefix) ssm \(parameterARN) version=", .badVersion("", "an SSM version number (1, 2, ...)")),
            ("\(prefix) secretsmanager \(secretARN) version=short",
             .badVersion("short", "a Secrets Manager VersionId (32 to 64 letters, digits, dashes)")),
            ("\(prefix) secretsmanager \(secretARN) current", .badVersion("current", "for Secrets Manager, `stage=AWSCURRENT`")),
            ("\(prefix) ssm \(parameterARN) version=1 key=", .emptyKey),
            ("\(prefix) ssm \(parameterARN) version=1 key=%41", .badKeyEncoding),
            ("\(prefix) ssm \(parameterARN) version=1 key=a%2", .badKeyEncoding),
            ("\(prefix) ssm \(parameterARN) version=1 key=%c3%a9", .badKeyEncoding),
            ("\(prefix) ssm \(parameterARN) version=1 key=%FF", .badKeyEncoding),
            ("\(prefix) ssm \(parameterARN) version=1 field=x",
             .malformed("after the version only `key=FIELD` may follow")),
            ("\(prefix) ssm  \(parameterARN) version=1",
             .malformed("tokens are separated by exactly one space, with no control characters")),
            ("\(prefix) ssm \(parameterARN) version=1\n",
             .malformed("tokens are separated by exactly one space, with no control characters")),
            ("inject-secrets:ref:v2 ssm \(parameterARN) version=1", .notAReference),
            (prefix + " " + String(repeating: "a", count: 5000), .tooLong(4096)),
        ]
        for (line, expected) in cases {
            XCTAssertThrowsError(try RuntimeReference(parsing: line), line) { error in
                XCTAssertEqual(error as? RuntimeReferenceError, expected, line)
            }
        }
    }

    func testOnlyThePrefixFollowedByASpaceClaimsAReference() {
        XCTAssertTrue(RuntimeReference.isReference("inject-secrets:ref:v1 ssm"))
        XCTAssertTrue(RuntimeReference.isReference("inject-secrets:ref:v1"))
        XCTAssertFalse(RuntimeReference.isReference("inject-secrets:ref:v10 ssm"))
        XCTAssertFalse(RuntimeReference.isReference("postgres://app@db/inject-secrets:ref:v1 x"))
        XCTAssertFalse(RuntimeReference.isReference(""))
    }
}
