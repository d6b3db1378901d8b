import Foundation
import InjectSecretsAWS
import InjectSecretsKit
import ProviderConformance
import TestSupport
import XCTest

/// The `SecretProvider` contract (`ProviderConformance`) on moto_server, for Secrets Manager and
/// Parameter Store, with IAM enforced: the metadata-only identity is the refused credential.
final class AWSConformanceTests: MotoTestCase {
    func provider(_ type: String, _ identity: TestIdentity) throws -> any SecretProvider {
        let kinds: [any SecretProviderKind.Type] = [AWSSecretsManagerStore.self, AWSParameterStore.self]
        let kind = try XCTUnwrap(kinds.first { $0.typeName == type })
        return try kind.make(moto.declaration(type: type, environment: identity.environment()))
    }

    func testSecretsManagerMeetsTheProviderContract() async throws {
        let id = "conformance-\(run)/db", other = "conformance-\(run)/other"
        let first = Canary("first"), second = Canary("second"), third = Canary("third")
        let created = try await moto.seed("secretsmanager", "CreateSecret", ["Name": .string(id), "SecretString": .string(first.value)])
        try await moto.seed("secretsmanager", "PutSecretValue", [
            "SecretId": .string(id), "SecretString": .string(second.value), "ClientRequestToken": .string(UUID().uuidString),
        ])
        try await moto.seed("secretsmanager", "CreateSecret", ["Name": .string(other), "SecretString": .string(third.value)])
        let store = ProviderConformance.Store(
            provider: try provider(AWSSecretsManagerStore.typeName, moto.identities.session),
            present: [
                .init(id: id, value: second.value),
                .init(id: id, policy: .version(try XCTUnwrap(created["VersionId"]?.string)), value: first.value),
                .init(id: id, policy: .stage("AWSPREVIOUS"), value: first.value),
                .init(id: other, value: third.value),
            ],
            missingID: "conformance-\(run)/missing",
            denied: (try provider(AWSSecretsManagerStore.typeName, moto.identities.metadata), id),
            canaries: [first.value, second.value, third.value])
        let violations = await ProviderConformance.check(store)
        XCTAssertEqual(violations, [], violations.joined(separator: "\n"))
    }

    func testParameterStoreMeetsTheProviderContract() async throws {
        let name = "/conformance-\(run)/db"
        let first = Canary("first"), second = Canary("second")
        for value in [first, second] {
            try await moto.seed("ssm", "PutParameter", [
                "Name": .string(name), "Value": .string(value.value), "Type": "SecureString", "Overwrite": true,
            ])
        }
        let store = ProviderConformance.Store(
            provider: try provider(AWSParameterStore.typeName, moto.identities.session),
            present: [.init(id: name, value: second.value), .init(id: name, policy: .version("1"), value: first.value)],
            missingID: "/conformance-\(run)/missing",
            denied: (try provider(AWSParameterStore.typeName, moto.identities.metadata), name),
            canaries: [first.value, second.value])
        let violations = await ProviderConformance.check(store)
        XCTAssertEqual(violations, [], violations.joined(separator: "\n"))
    }
}
