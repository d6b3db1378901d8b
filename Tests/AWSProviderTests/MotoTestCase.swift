import Foundation
import XCTest
import TestSupport

/// A test class against one moto_server (SigV4 and IAM enforced, behind the counting proxy), started
/// before the class's first test and stopped after its last. Without moto each test is skipped; under
/// CI=true it fails.
class MotoTestCase: XCTestCase {
    // One class runs at a time, so one slot serves every subclass in turn.
    nonisolated(unsafe) static var fixture: MotoFixture?
    nonisolated(unsafe) static var skipReason: String?

    override class func setUp() {
        super.setUp()
        skipReason = nil
        do {
            fixture = try MotoFixture.start()
            if fixture == nil { skipReason = "moto_server is not installed" }
        } catch {
            skipReason = "moto fixture failed: \(error)"
        }
    }

    override class func tearDown() {
        fixture?.stop()
        fixture = nil
        super.tearDown()
    }

    var moto: MotoFixture!
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
        if let reason = Self.skipReason {
            if isCI { throw TestSupportError(reason) }
            throw XCTSkip(reason)
        }
        moto = Self.fixture
    }
}
