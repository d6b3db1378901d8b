import Foundation
import InjectSecretsKit

/// The wire shapes of the Secrets Manager calls the store makes (awsJson1.1, the API reference at
/// docs.aws.amazon.com/secretsmanager/latest/apireference): requests as they are encoded, answers as
/// far as the store reads them. The logic that uses them is in `AWSSecretsManagerStore.swift`.
extension AWSSecretsManagerProvider {
    struct SecretValueEntry: Decodable {
        var arn: String?
        var name: String?
        var versionId: String?
        var secretString: String?
        var secretBinary: String?

        enum CodingKeys: String, CodingKey {
            case arn = "ARN", name = "Name", versionId = "VersionId", secretString = "SecretString"
            case secretBinary = "SecretBinary"
        }

    }

    struct BatchGetInput: Encodable {
        var secretIdList: [String]
        var nextToken: String?
        enum CodingKeys: String, CodingKey { case secretIdList = "SecretIdList", nextToken = "NextToken" }
    }

    struct BatchGetOutput: Decodable {
        var secretValues: [SecretValueEntry]?
        var errors: [BatchError]?
        var nextToken: String?
        enum CodingKeys: String, CodingKey {
            case secretValues = "SecretValues", errors = "Errors", nextToken = "NextToken"
        }
    }

    struct BatchError: Decodable {
        var secretId: String?
        var errorCode: String?
        var message: String?
        enum CodingKeys: String, CodingKey { case secretId = "SecretId", errorCode = "ErrorCode", message = "Message" }
    }

    struct GetInput: Encodable {
        var secretId: String
        var versionId: String?
        var versionStage: String?
        enum CodingKeys: String, CodingKey {
            case secretId = "SecretId", versionId = "VersionId", versionStage = "VersionStage"
        }
    }

    /// A secret's metadata as ListSecrets and DescribeSecret give it.
    struct SecretMetadata: Decodable {
        var arn: String?
        var name: String?
        var versionsToStages: [String: [String]]?
        var deletedDate: FlexibleNumber?
        /// Whether the secret has a rotation function and schedule (DescribeSecret; `rotate` uses it).
        var rotationEnabled: Bool?

        enum CodingKeys: String, CodingKey {
            case arn = "ARN", name = "Name", deletedDate = "DeletedDate", rotationEnabled = "RotationEnabled"
            case versionIdsToStages = "VersionIdsToStages", secretVersionsToStages = "SecretVersionsToStages"
        }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            arn = try container.decodeIfPresent(String.self, forKey: .arn)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            deletedDate = try container.decodeIfPresent(FlexibleNumber.self, forKey: .deletedDate)
            rotationEnabled = try container.decodeIfPresent(Bool.self, forKey: .rotationEnabled)
            versionsToStages =
                try container.decodeIfPresent([String: [String]].self, forKey: .versionIdsToStages)
                ?? container.decodeIfPresent([String: [String]].self, forKey: .secretVersionsToStages)
        }

        var isDeleted: Bool { deletedDate?.value != nil }
    }

    struct ListSecretsInput: Encodable {
        struct Filter: Encodable {
            var key: String
            var values: [String]
            enum CodingKeys: String, CodingKey { case key = "Key", values = "Values" }
        }
        var filters: [Filter]
        var includePlannedDeletion: Bool
        var maxResults: Int
        var nextToken: String?
        enum CodingKeys: String, CodingKey {
            case filters = "Filters", includePlannedDeletion = "IncludePlannedDeletion", maxResults = "MaxResults"
            case nextToken = "NextToken"
        }
    }

    struct ListSecretsOutput: Decodable {
        var secretList: [SecretMetadata]?
        var nextToken: String?
        enum CodingKeys: String, CodingKey { case secretList = "SecretList", nextToken = "NextToken" }
    }

    struct SecretIdInput: Encodable {
        var secretId: String
        enum CodingKeys: String, CodingKey { case secretId = "SecretId" }
    }

    struct ListVersionsInput: Encodable {
        var secretId: String
        var includeDeprecated: Bool
        var maxResults: Int
        var nextToken: String?
        enum CodingKeys: String, CodingKey {
            case secretId = "SecretId", includeDeprecated = "IncludeDeprecated", maxResults = "MaxResults"
            case nextToken = "NextToken"
        }
    }

    struct ListVersionsOutput: Decodable {
        struct Version: Decodable {
            var versionId: String?
            var versionStages: [String]?
            var createdDate: FlexibleNumber?
            enum CodingKeys: String, CodingKey {
                case versionId = "VersionId", versionStages = "VersionStages", createdDate = "CreatedDate"
            }
        }
        var versions: [Version]?
        var nextToken: String?
        enum CodingKeys: String, CodingKey { case versions = "Versions", nextToken = "NextToken" }
    }

    // Writes (rotate).
    struct PutSecretValueInput: Encodable {
        var secretId: String
        var clientRequestToken: String
        var secretString: String
        enum CodingKeys: String, CodingKey {
            case secretId = "SecretId", clientRequestToken = "ClientRequestToken", secretString = "SecretString"
        }
    }

    struct PutSecretValueOutput: Decodable {
        var versionId: String?
        enum CodingKeys: String, CodingKey { case versionId = "VersionId" }
    }
}

/// A number AWS may send as a JSON number or as text (some emulators), or null.
struct FlexibleNumber: Decodable {
    var value: Double?

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            value = nil
        } else if let number = try? container.decode(Double.self) {
            value = number
        } else if let text = try? container.decode(String.self) {
            value = Double(text) ?? 0
        } else {
            value = 0
        }
    }
}
