import Foundation
import InjectSecretsKit

/// `type: aws-ssm`: AWS Systems Manager Parameter Store, with the settings `region`, `endpoint`, `profile`
/// and `metadata-rate`.
package enum AWSParameterStore: SecretProviderKind {
    package static let typeName = "aws-ssm"
    package static let settingKeys = AWSStoreConfiguration.settingKeys + [AWSParameterStoreProvider.metadataRateKey]

    /// The shared AWS settings and `metadata-rate`.
    package struct Settings: Sendable {
        var aws: AWSStoreConfiguration
        var metadataRate: Double
    }

    package static func settings(_ declaration: ProviderDeclaration) throws -> Settings {
        let key = AWSParameterStoreProvider.metadataRateKey
        let configuration = try AWSStoreConfiguration(declaration, service: .parameterStore, extraSettingKeys: [key])
        let settings = try ProviderSettings(declaration, allowed: settingKeys)
        let rate = try settings.number(
            key, unit: "calls a second", above: 0, atMost: AWSParameterStoreProvider.maximumMetadataRate)
        return Settings(aws: configuration, metadataRate: rate ?? AWSParameterStoreProvider.defaultMetadataRate)
    }

    package static func make(_ settings: Settings) -> any SecretProvider {
        AWSParameterStoreProvider(settings: settings)
    }
}

/// Reads Parameter Store: GetParameters with decryption, 10 names a call, with `name:VERSION` and
/// `name:LABEL` selectors; `inspect` uses DescribeParameters and GetParameterHistory without decryption.
package struct AWSParameterStoreProvider: SecretProvider {
    package let name: String
    let client: AWSJSONClient
    /// How many calls may be in flight at once: as many as the HTTP client keeps connections to one
    /// host, so every call reuses a warm connection; throttling beyond SSM's GetParameters quota is
    /// retried.
    var concurrency = 16

    static let batchLimit = 10

    package init(_ declaration: ProviderDeclaration, http: HTTPClient = .shared) throws {
        self.init(settings: try AWSParameterStore.settings(declaration), http: http)
    }

    init(settings: AWSParameterStore.Settings, http: HTTPClient = .shared) {
        self.init(name: settings.aws.providerName, client: settings.aws.client(http: http), metadataRate: settings.metadataRate)
    }

    init(name: String, client: AWSJSONClient, metadataRate: Double = Self.defaultMetadataRate) {
        self.name = name
        self.client = client
        describePacer = CallPacer(perSecond: metadataRate)
        historyPacer = CallPacer(perSecond: metadataRate)
    }

    /// The name with its selector: `name`, `name:3`, `name:label`.
    static func selector(for reference: SecretReference) -> String {
        switch reference.policy {
        case .current: return reference.id
        case .version(let version): return "\(reference.id):\(version)"
        case .stage(let label): return "\(reference.id):\(label)"
        }
    }

    /// Splits references into calls of at most 10 names with each parameter name at most once per call,
    /// so every answer maps back to its request by name.
    static func batches(_ references: [SecretReference]) -> [[SecretReference]] {
        var batches: [[SecretReference]] = []
        var names: [Set<String>] = []
        for reference in references {
            if let index = batches.indices.first(where: {
                batches[$0].count < batchLimit && !names[$0].contains(reference.id)
            }) {
                batches[index].append(reference)
                names[index].insert(reference.id)
            } else {
                batches.append([reference])
                names.append([reference.id])
            }
        }
        return batches
    }

    // MARK: fetch

    package func fetch(_ references: [SecretReference]) async -> [SecretReference: Result<FetchedSecret, ProviderFailure>] {
        // References are distinct by (id, policy), so their selectors are distinct too.
        let outcomes = await boundedConcurrentMap(Self.batches(references), limit: concurrency) { batch in
            await getParameters(batch)
        }
        var bySelector: [String: Result<FetchedSecret, ProviderFailure>] = [:]
        for outcome in outcomes { bySelector.merge(outcome) { first, _ in first } }
        var results: [SecretReference: Result<FetchedSecret, ProviderFailure>] = [:]
        for reference in references {
            let result = bySelector[Self.selector(for: reference)] ?? .failure(ProviderFailure(.invalidResponse, "no answer"))
            results[reference] = result.mapError { $0.during(.read, of: reference.id) }
        }
        return results
    }

    /// One GetParameters call; answers keyed by selector.
    func getParameters(_ batch: [SecretReference]) async -> [String: Result<FetchedSecret, ProviderFailure>] {
        let selectors = batch.map(Self.selector)
        var results: [String: Result<FetchedSecret, ProviderFailure>] = [:]
        let output: GetParametersOutput
        do {
            output = try await client.call(
                "GetParameters", GetParametersInput(names: selectors, withDecryption: true), as: GetParametersOutput.self)
        } catch {
            let failure = Self.failure(error)
            for selector in selectors { results[selector] = .failure(failure) }
            return results
        }
        let invalid = Set(output.invalidParameters ?? [])
        for reference in batch {
            let selector = Self.selector(for: reference)
            if invalid.contains(selector) || invalid.contains(reference.id) {
                switch reference.policy {
                case .current:
                    results[selector] = .failure(ProviderFailure(
                        .notFound, "AWS Systems Manager Parameter Store: parameter not found (GetParameters listed it in InvalidParameters)"))
                case .version(let version):
                    results[selector] = .failure(ProviderFailure(
                        .versionNotFound, "AWS Systems Manager Parameter Store: version \(version) not found (or the parameter does not exist)"))
                case .stage(let label):
                    results[selector] = .failure(ProviderFailure(
                        .versionNotFound, "AWS Systems Manager Parameter Store: no version has the label \(label) (or the parameter does not exist)"))
                }
                continue
            }
            guard let parameter = output.parameters?.first(where: { Self.matches($0, reference) }) else {
                results[selector] = .failure(ProviderFailure(
                    .invalidResponse, "AWS Systems Manager Parameter Store GetParameters did not answer for this parameter"))
                continue
            }
            guard let version = parameter.version, let value = parameter.value else {
                results[selector] = .failure(ProviderFailure(
                    .invalidResponse, "AWS Systems Manager Parameter Store GetParameters returned no Version or Value"))
                continue
            }
            if case .version(let wanted) = reference.policy, Int(wanted) != version {
                results[selector] = .failure(ProviderFailure(
                    .invalidResponse, "AWS Systems Manager Parameter Store returned version \(version) where \(wanted) was asked"))
                continue
            }
            results[selector] = .success(FetchedSecret(version: String(version), locator: parameter.arn, value: SecretValue(value)))
        }
        return results
    }

    /// The answer for a reference: the parameter whose Name (or ARN) is the reference's id. GetParameters
    /// answers a `name:version` or `name:label` selector under the plain name, so the selector is not compared.
    static func matches(_ parameter: Parameter, _ reference: SecretReference) -> Bool {
        if parameter.name == reference.id || parameter.arn == reference.id { return true }
        return false
    }

    static func failure(_ error: Error) -> ProviderFailure {
        switch error {
        case let error as AWSCallError: return error.failure()
        case let error as ProviderFailure: return error
        default: return ProviderFailure(.unreachable, "AWS Systems Manager Parameter Store: \(type(of: error))")
        }
    }

    // MARK: inspect

    package func credentialsInUse() async -> [String] { await client.credentials.credentialsInUse() }

    /// Names per DescribeParameters call: a `Name` filter takes at most 50 values and a page holds at
    /// most 50 parameters (`ParameterStringFilterValueList` and `MaxResults`, both `max: 50`, in the
    /// API's model, botocore `data/ssm/2014-11-06/service-2.json`). 50 exact names fill a page, so no
    /// `BeginsWith` prefix could answer more of them in one call, and a prefix also matches
    /// parameters the manifest does not name: exact names are the plan with the fewest calls.
    static let describeLimit = 50
    /// DescribeParameters and GetParameterHistory sit outside Parameter Store's throughput setting,
    /// which covers GetParameter, GetParameters, GetParametersByPath and PutParameter
    /// (docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-throughput.html), and
    /// AWS publishes no number for them: DescribeParameters' limits are "very low" and not public
    /// (github.com/segmentio/chamber/issues/392), and chamber's users were throttled below one call a
    /// second (issues/76). So by default each is paced to 3 calls a second, a guess kept low (a call
    /// throttled anyway is retried, `AWS_MAX_ATTEMPTS`), rather than sent 16 at once into throttled
    /// retries that a larger manifest runs out of. `metadata-rate:` sets it for an account whose quota
    /// is known to be higher, or that shares it with other tools.
    static let defaultMetadataRate = 3.0
    /// Far past any quota AWS grants for these calls: a larger number is a mistake, not a setting.
    static let maximumMetadataRate = 1_000.0
    static let metadataRateKey = "metadata-rate"
    /// DescribeParameters' and GetParameterHistory's own buckets, each at `metadata-rate` with a burst of
    /// a second's calls.
    var describePacer: CallPacer
    var historyPacer: CallPacer

    /// One DescribeParameters call per 50 names, then one GetParameterHistory per name whose answer
    /// needs more than the current version (a label, an older pinned or locked version), each call
    /// paced to its quota with up to `concurrency` in flight.
    package func inspect(_ queries: [VersionQuery]) async -> [Result<VersionStatus, ProviderFailure>] {
        let names = Array(Set(queries.map(\.reference.id))).sorted()
        let described = await boundedConcurrentMap(
            chunked(names, size: Self.describeLimit), limit: concurrency, pacer: describePacer
        ) { chunk in
            (chunk, await describeParameters(chunk))
        }
        var metadata: [String: Result<ParameterMetadata?, ProviderFailure>] = [:]
        for (chunk, result) in described {
            for name in chunk {
                metadata[name] = result.map { $0[name] }
            }
        }
        let historyNames = Set(queries.filter { query in
            guard case .success(let parameter?)? = metadata[query.reference.id] else { return false }
            return Self.needsHistory(query, current: parameter.version.map(String.init))
        }.map(\.reference.id)).sorted()
        let histories = await boundedConcurrentMap(historyNames, limit: concurrency, pacer: historyPacer) { name in
            await history(name)
        }
        let versions = Dictionary(uniqueKeysWithValues: zip(historyNames, histories))
        return queries.map { query in
            status(for: query, metadata: metadata[query.reference.id]!, history: versions[query.reference.id])
                .mapError { $0.during(.inspect, of: query.reference.id) }
        }
    }

    func describeParameters(_ names: [String]) async -> Result<[String: ParameterMetadata], ProviderFailure> {
        let wanted = Set(names)
        var found: [String: ParameterMetadata] = [:]
        let pages = PageSequence { token, number -> (page: DescribeParametersOutput, next: String?) in
            let input = DescribeParametersInput(
                parameterFilters: [.init(key: "Name", option: "Equals", values: names)], maxResults: Self.describeLimit,
                nextToken: token)
            // The first page was admitted when the call was started (`inspect`).
            if number > 1 { await describePacer.admit() }
            let output = try await client.call("DescribeParameters", input, as: DescribeParametersOutput.self)
            return (output, output.nextToken)
        }
        do {
            for try await output in pages {
                for entry in output.parameters ?? [] {
                    if let name = entry.name, wanted.contains(name) { found[name] = entry }
                }
                if found.count == names.count { break }
            }
        } catch {
            return .failure(Self.failure(error))
        }
        return .success(found)
    }

    /// Every version still in the parameter's history, with its labels (no decryption).
    func history(_ name: String) async -> Result<[ParameterMetadata], ProviderFailure> {
        var versions: [ParameterMetadata] = []
        let pages = PageSequence { token, number -> (page: HistoryOutput, next: String?) in
            if number > 1 { await historyPacer.admit() }
            let output = try await client.call(
                "GetParameterHistory", HistoryInput(name: name, withDecryption: false, maxResults: 50, nextToken: token),
                as: HistoryOutput.self)
            return (output, output.nextToken)
        }
        do {
            for try await output in pages { versions += output.parameters ?? [] }
        } catch {
            return .failure(Self.failure(error))
        }
        return .success(versions)
    }

    /// Whether the current version alone cannot answer `query`: a label, or a pinned or locked version
    /// other than the current one, is only in the parameter's history.
    static func needsHistory(_ query: VersionQuery, current: String?) -> Bool {
        if case .stage = query.reference.policy { return true }
        if case .version(let id) = query.reference.policy, id != current { return true }
        if let locked = query.lockedVersion, locked != current { return true }
        return false
    }

    /// The status from DescribeParameters' answer and, where `needsHistory`, the parameter's history.
    func status(
        for query: VersionQuery, metadata: Result<ParameterMetadata?, ProviderFailure>,
        history: Result<[ParameterMetadata], ProviderFailure>?
    ) -> Result<VersionStatus, ProviderFailure> {
        let parameter: ParameterMetadata
        switch metadata {
        case .failure(let failure):
            return .failure(failure)
        case .success(nil):
            if query.lockedVersion != nil {
                return .success(VersionStatus(selected: nil, locked: .gone(reason: "the parameter no longer exists")))
            }
            return .failure(ProviderFailure(.notFound, "AWS Systems Manager Parameter Store: parameter not found"))
        case .success(let found?):
            parameter = found
        }
        let current = parameter.version.map(String.init)
        var versions: [ParameterMetadata] = []
        if Self.needsHistory(query, current: current) {
            switch history {
            case .success(let found)?: versions = found
            case .failure(let failure)?: return .failure(failure)
            case nil: return .failure(ProviderFailure(.invalidResponse, "no history was read for this parameter"))
            }
        }
        let selected: String?
        switch query.reference.policy {
        case .current: selected = current
        case .version(let id): selected = id
        case .stage(let label):
            selected = versions.last(where: { $0.labels?.contains(label) == true })?.version.map(String.init)
        }
        var notes: [String] = []
        if case .version(let id) = query.reference.policy, id != current,
            !versions.contains(where: { $0.version.map(String.init) == id })
        {
            notes.append("the pinned version \(id) does not exist")
        }
        var locked: VersionStatus.LockedState?
        if let version = query.lockedVersion {
            if version == current || versions.contains(where: { $0.version.map(String.init) == version }) {
                locked = .present
            } else {
                locked = .gone(reason: "version \(version) is no longer in the parameter's history")
            }
        }
        // DescribeParameters dates the current version; GetParameterHistory (read above for any other) the rest.
        let selectedEntry = selected == current ? parameter : versions.first { $0.version.map(String.init) == selected }
        let created = selectedEntry?.lastModifiedDate?.value.map { Date(timeIntervalSince1970: $0) }
        return .success(VersionStatus(selected: selected, locator: parameter.arn, locked: locked, notes: notes, created: created))
    }
}
