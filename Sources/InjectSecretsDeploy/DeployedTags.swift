import Foundation
import InjectSecretsAWS
import InjectSecretsCore
import InjectSecretsKit

/// Reads the deployment tags of many functions for `drift --deployed`: one Resource Groups Tagging API
/// `GetResources` page per 100 tagged functions, with ListTags per function (in flight, paced) when that
/// API is denied, and for the functions the listing did not show clean.
extension LambdaClient {
    enum TagRead: Sendable {
        case tagged(String)
        case untagged
        case missing
        case failed(Failure)
    }

    /// The value of `key` on each function (a name or an ARN). A function whose listed value is one of
    /// its `accepted` values is taken as read; any other is confirmed with ListTags, because the Tagging API is
    /// eventually consistent and cannot tell a missing function from an untagged one. `denied` is true
    /// when GetResources was refused and every function was read with ListTags.
    func deploymentTags(of names: [String], key: String, accepted: [[String]], concurrency: Int) async -> (reads: [TagRead], denied: Bool) {
        var listed: [String: String] = [:]
        var denied = false
        do {
            listed = try await taggedFunctions(key: key)
        } catch let error as AWSCallError where error.code == "AccessDeniedException" {
            denied = true
        } catch {
            let failure = Failure(code: nil, status: nil, message: "\(error)", kind: .unreachable)
            return (names.map { _ in .failed(failure) }, false)
        }
        // The listing's ARNs carry the account, so a listed fleet needs no STS call to name its ARNs.
        var byName: [String: String] = [:]
        var account: String?
        for (arn, value) in listed {
            guard let parts = AWSResourcePlace.parts(of: arn), parts.resource.hasPrefix("function:") else { continue }
            account = account ?? parts.account
            byName[String(parts.resource.dropFirst("function:".count))] = value
        }
        let shown = names.map { name in name.hasPrefix("arn:") ? listed[name] : byName[name] }
        let clean = zip(shown, accepted).map { shown, accepted in shown.map(accepted.contains) ?? false }
        var accountFailure: Failure?
        if account == nil, zip(names, clean).contains(where: { !$1 && !$0.hasPrefix("arn:") }) {
            do { account = try await self.account() } catch let failure as Failure { accountFailure = failure } catch {
                accountFailure = Failure(code: nil, status: nil, message: "\(type(of: error))", kind: .unreachable)
            }
        }
        let known = (account, accountFailure)
        let reads = await boundedConcurrentMap(Array(zip(names, zip(shown, clean))), limit: concurrency) { name, check -> TagRead in
            if check.1, let shown = check.0 { return .tagged(shown) }
            if let failure = known.1, !name.hasPrefix("arn:") { return .failed(failure) }
            do {
                return try await tags(of: arn(of: name, account: known.0 ?? ""))[key].map(TagRead.tagged) ?? .untagged
            } catch let failure as Failure where failure.code == "ResourceNotFoundException" {
                return .missing
            } catch let failure as Failure {
                return .failed(failure)
            } catch {
                return .failed(Failure(code: nil, status: nil, message: "\(type(of: error))", kind: .unreachable))
            }
        }
        return (reads, denied)
    }

    /// Every Lambda function of the region that carries `key`, with its value, by function ARN.
    func taggedFunctions(key: String) async throws -> [String: String] {
        let client = AWSJSONClient(
            .tagging, endpoint: taggingEndpoint, region: region, credentials: credentials, http: http, retry: retry)
        var values: [String: String] = [:]
        let pages = PageSequence { token, _ -> (page: GetResourcesOutput, next: String?) in
            let page = try await client.call(
                "GetResources", GetResourcesInput(TagFilters: [.init(Key: key)], PaginationToken: token),
                as: GetResourcesOutput.self)
            return (page, page.PaginationToken)
        }
        for try await page in pages {
            for mapping in page.ResourceTagMappingList ?? [] {
                if let value = mapping.Tags?.first(where: { $0.Key == key })?.Value { values[mapping.ResourceARN] = value }
            }
        }
        return values
    }
}
