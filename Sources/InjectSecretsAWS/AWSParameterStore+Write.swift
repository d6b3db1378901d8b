import Foundation
import InjectSecretsKit

/// Rotation on Parameter Store: `PutParameter` with `Overwrite: true`, keeping the parameter's Type (a
/// SecureString stays one), its KMS key and its data type, read first with DescribeParameters (metadata
/// only). The new version number is returned.
extension AWSParameterStoreProvider: SecretWriting {
    package func write(_ reference: SecretReference, value: SecretValue, expectedCurrent: String?) async throws -> String {
        do {
            let described = try await client.call(
                "DescribeParameters", WriteDescribeInput(parameterFilters: [.init(values: [reference.id])]), as: WriteDescribeOutput.self)
            guard let parameter = described.parameters?.first(where: { $0.name == reference.id }) ?? described.parameters?.first else {
                throw ProviderFailure(.notFound, "the parameter does not exist; create it first")
            }
            if let expectedCurrent, let version = parameter.version, String(version) != expectedCurrent {
                throw ProviderFailure(
                    .configuration,
                    "the parameter moved from version \(expectedCurrent) to \(version) while rotating; nothing was written, run rotate again")
            }
            let input = PutParameterInput(
                name: reference.id, value: value.text, type: parameter.type ?? "SecureString",
                keyId: parameter.type == "SecureString" ? parameter.keyId : nil, dataType: parameter.dataType)
            let output = try await client.call("PutParameter", input, as: PutParameterOutput.self)
            guard let version = output.version else {
                throw ProviderFailure(.invalidResponse, "AWS Systems Manager Parameter Store PutParameter gave no Version")
            }
            return String(version)
        } catch {
            throw Self.failure(error).during(.write, of: reference.id)
        }
    }
}
