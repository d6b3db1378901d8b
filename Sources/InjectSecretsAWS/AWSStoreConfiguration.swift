import Foundation
import InjectSecretsKit

/// The settings both AWS stores share (`region`, `endpoint`, `profile`), checked offline when the
/// manifest is loaded: a missing region or an endpoint that is plain HTTP off loopback is an error at the
/// declaration, before any request. Building the client (and its credential chain) waits for `client`.
package struct AWSStoreConfiguration: Sendable {
    static let settingKeys = ["region", "endpoint", "profile"]

    var providerName: String
    var region: String
    var endpoint: URL
    var environment: AWSEnvironment
    var trust: TLSTrust
    var service: AWSService

    /// `extraSettingKeys`: the store's own settings, which it reads itself.
    init(
        _ declaration: ProviderDeclaration, service: AWSService, extraSettingKeys: [String] = []
    ) throws {
        let settings = try ProviderSettings(declaration, allowed: Self.settingKeys + extraSettingKeys)
        let profile = try settings.string("profile").flatMap { $0.isEmpty ? nil : $0 }
        let environment = AWSEnvironment(variables: declaration.environment, profile: profile)

        let manifestRegion = try settings.string("region")
        guard let region = environment.region(manifestRegion: manifestRegion), !region.isEmpty else {
            throw InjectSecretsError.badInput(
                "provider '\(declaration.name)' of type '\(declaration.type)' needs a region: set 'region:' in the "
                    + "manifest, or AWS_REGION / AWS_DEFAULT_REGION, or 'region' in the AWS profile",
                at: settings.location(of: "region"))
        }
        guard AWSRegionName.isValid(region) else {
            let source = manifestRegion?.isEmpty == false ? "" : " (from the environment or the AWS profile)"
            throw InjectSecretsError.badInput(
                "provider '\(declaration.name)': '\(region)'\(source) is not an AWS region name "
                    + "(lowercase letters, digits and '-', such as us-east-1)",
                at: settings.location(of: "region"))
        }

        let endpoint: URL
        if let url = try settings.endpointURL("endpoint") {
            endpoint = AWSService.rootURL(url)
        } else {
            do {
                endpoint = try service.endpoint(region: region, environment: environment)
            } catch let violation as EndpointPolicy.Violation {
                throw InjectSecretsError.badInput(
                    "provider '\(declaration.name)': the endpoint configured outside the manifest "
                        + "(\(service.configuredBy)): \(violation.message)",
                    at: declaration.node.location)
            }
        }

        trust = try environment.caBundle(at: declaration.node.location)
        providerName = declaration.name
        self.region = region
        self.endpoint = endpoint
        self.environment = environment
        self.service = service
    }

    /// The store's client, with its credential chain; `http` for tests that script the transport.
    func client(http: HTTPClient = .shared) -> AWSJSONClient {
        let http = http.trusting(trust).proxying(from: environment.variables)
        return AWSJSONClient(
            service, endpoint: endpoint, region: region,
            credentials: environment.credentialSource(client: http, region: region), http: http,
            retry: AWSService.retryPolicy(environment: environment.variables))
    }
}

/// Splits items into consecutive groups of at most `size`, in their order, for batched calls.
func chunked<T>(_ items: [T], size: Int) -> [[T]] {
    guard size > 0 else { return [items] }
    return stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
}
