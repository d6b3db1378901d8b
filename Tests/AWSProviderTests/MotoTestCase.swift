import Foundation
import XCTest
import TestSupport

/// A test class against one moto_server (SigV4 and IAM enforced, behind the counting proxy), started
/// before the class's first test and stopped after its last. Without moto each test is skipped; under
/// CI=true it fails.
class MotoTestCase: XCTestCase {
    // One class runs at a time, so one slot serves every subclass in turn.
    nonisolated(unsafe) static var started: Result<MotoFixture, Error>?

    override class func setUp() {
        super.setUp()
        started = Result {
            guard let fixture = try MotoFixture.start() else { throw TestSupportError("moto_server is not installed") }
            return fixture
        }
    }

    override class func tearDown() {
        if case .success(let fixture) = started { fixture.stop() }
        started = nil
        super.tearDown()
    }

    var moto: MotoFixture!
    /// A fresh project folder for the test, removed after it.
    var directory: URL!
    /// Every canary planted by this test; none may appear in any message.
    var canaries: [Canary] = []
    /// What no run of the tool may print or write outside its rendered outputs: the canaries and the
    /// secret parts of every identity moto knows.
    var watched: [String] {
        let identities = [moto.identities.admin, moto.identities.session, moto.identities.metadata, moto.identities.getSecretValueOnly]
        return canaries.map(\.value) + identities.flatMap { [$0.SecretAccessKey, $0.SessionToken].compactMap { $0 } }
    }
    let run = UUID().uuidString.prefix(8).lowercased()

    override func setUpWithError() throws {
        try super.setUpWithError()
        moto = try startedServer(Self.started)
        directory = try makeTemporaryDirectory("aws")
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        super.tearDown()
    }
}

/// A manifest reading Secrets Manager as provider `aws` and Parameter Store as `ssm`, both at `endpoint`
/// in us-east-1. `secrets` and `functions` are the lines under those keys, indented as in the manifest.
func awsManifest(endpoint: String, secrets: String, functions: String) -> String {
    """
    version: 1
    providers:
      aws: { type: aws-secrets-manager, region: us-east-1, endpoint: '\(endpoint)' }
      ssm: { type: aws-ssm, region: us-east-1, endpoint: '\(endpoint)' }
    secrets:
    \(secrets)
    functions:
    \(functions)

    """
}
