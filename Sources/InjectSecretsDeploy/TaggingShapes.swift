import Foundation
import InjectSecretsAWS

/// The wire shapes of the one Resource Groups Tagging API call deploy makes, GetResources (awsJson1.1,
/// docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html): the request as
/// it is encoded, the answer as far as it is read. The logic that uses them is in `DeployedTags.swift`.
extension LambdaClient {
    struct GetResourcesInput: Encodable {
        struct Filter: Encodable { var Key: String }

        var ResourceTypeFilters = ["lambda:function"]
        var TagFilters: [Filter]
        var ResourcesPerPage = 100
        var PaginationToken: String?
    }

    struct GetResourcesOutput: Decodable {
        struct Mapping: Decodable {
            struct Tag: Decodable { var Key: String; var Value: String? }
            var ResourceARN: String
            var Tags: [Tag]?
        }
        var PaginationToken: String?
        var ResourceTagMappingList: [Mapping]?
    }
}
