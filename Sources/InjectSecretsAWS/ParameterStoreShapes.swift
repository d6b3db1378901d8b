import Foundation
import InjectSecretsKit

/// The wire shapes of the Parameter Store calls the store makes (awsJson1.1, the API reference at
/// docs.aws.amazon.com/systems-manager/latest/APIReference): requests as they are encoded, answers as
/// far as the store reads them. The logic that uses them is in `AWSParameterStore.swift`.
extension AWSParameterStoreProvider {
    struct GetParametersInput: Encodable {
        var names: [String]
        var withDecryption: Bool
        enum CodingKeys: String, CodingKey { case names = "Names", withDecryption = "WithDecryption" }
    }

    struct Parameter: Decodable {
        var name: String?
        var value: String?
        var version: Int?
        var arn: String?
        enum CodingKeys: String, CodingKey {
            case name = "Name", value = "Value", version = "Version", arn = "ARN"
        }
    }

    struct GetParametersOutput: Decodable {
        var parameters: [Parameter]?
        var invalidParameters: [String]?
        enum CodingKeys: String, CodingKey { case parameters = "Parameters", invalidParameters = "InvalidParameters" }
    }

    struct DescribeParametersInput: Encodable {
        struct Filter: Encodable {
            var key: String
            var option: String
            var values: [String]
            enum CodingKeys: String, CodingKey { case key = "Key", option = "Option", values = "Values" }
        }
        var parameterFilters: [Filter]
        var maxResults: Int
        var nextToken: String?
        enum CodingKeys: String, CodingKey {
            case parameterFilters = "ParameterFilters", maxResults = "MaxResults", nextToken = "NextToken"
        }
    }

    /// Parameter metadata (DescribeParameters and GetParameterHistory entries); a Value in the answer is
    /// never decoded.
    struct ParameterMetadata: Decodable {
        var name: String?
        var version: Int?
        var arn: String?
        var labels: [String]?
        /// When this version was written: the version's creation date.
        var lastModifiedDate: FlexibleNumber?
        enum CodingKeys: String, CodingKey {
            case name = "Name", version = "Version", arn = "ARN", labels = "Labels", lastModifiedDate = "LastModifiedDate"
        }
    }

    struct DescribeParametersOutput: Decodable {
        var parameters: [ParameterMetadata]?
        var nextToken: String?
        enum CodingKeys: String, CodingKey { case parameters = "Parameters", nextToken = "NextToken" }
    }

    struct HistoryInput: Encodable {
        var name: String
        var withDecryption: Bool
        var maxResults: Int
        var nextToken: String?
        enum CodingKeys: String, CodingKey {
            case name = "Name", withDecryption = "WithDecryption", maxResults = "MaxResults", nextToken = "NextToken"
        }
    }

    struct HistoryOutput: Decodable {
        var parameters: [ParameterMetadata]?
        var nextToken: String?
        enum CodingKeys: String, CodingKey { case parameters = "Parameters", nextToken = "NextToken" }
    }

    // Writes (rotate).
    struct WriteDescribeInput: Encodable {
        struct Filter: Encodable {
            var key = "Name"
            var option = "Equals"
            var values: [String]
            enum CodingKeys: String, CodingKey { case key = "Key", option = "Option", values = "Values" }
        }
        var parameterFilters: [Filter]
        enum CodingKeys: String, CodingKey { case parameterFilters = "ParameterFilters" }
    }

    struct WriteDescribeOutput: Decodable {
        struct Parameter: Decodable {
            var name: String?
            var type: String?
            var keyId: String?
            var dataType: String?
            var version: Int?
            enum CodingKeys: String, CodingKey { case name = "Name", type = "Type", keyId = "KeyId", dataType = "DataType", version = "Version" }
        }
        var parameters: [Parameter]?
        enum CodingKeys: String, CodingKey { case parameters = "Parameters" }
    }

    struct PutParameterInput: Encodable {
        var name: String
        var value: String
        var type: String
        var keyId: String?
        var dataType: String?
        var overwrite = true
        enum CodingKeys: String, CodingKey {
            case name = "Name", value = "Value", type = "Type", keyId = "KeyId", dataType = "DataType", overwrite = "Overwrite"
        }
    }

    struct PutParameterOutput: Decodable {
        var version: Int?
        enum CodingKeys: String, CodingKey { case version = "Version" }
    }
}
