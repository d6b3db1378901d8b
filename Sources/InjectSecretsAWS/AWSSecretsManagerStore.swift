import Foundation
import InjectSecretsKit

/// `type: aws-secrets-manager`: AWS Secrets Manager, with the settings `region`, `endpoint`, `profile` and
/// `batch-overflow`.
package enum AWSSecretsManagerStore: SecretProviderKind {
    package static let typeName = "aws-secrets-manager"
    package static let settingKeys = AWSStoreConfiguration.settingKeys + [AWSSecretsManagerProvider.overflowKey]

    /// The shared AWS settings and `batch-overflow`.
    package struct Settings: Sendable {
        var aws: AWSStoreConfiguration
        var overflow: AWSSecretsManagerProvider.BatchOverflow
    }

    package static func settings(_ declaration: ProviderDeclaration) throws -> Settings {
        let configuration = try AWSStoreConfiguration(
            declaration, service: .secretsManager, extraSettingKeys: [AWSSecretsManagerProvider.overflowKey])
        let settings = try ProviderSettings(declaration, allowed: settingKeys)
        let key = AWSSecretsManagerProvider.overflowKey
        let overflow = try settings.string(key) ?? AWSSecretsManagerProvider.BatchOverflow.none.rawValue
        guard let choice = AWSSecretsManagerProvider.BatchOverflow(rawValue: overflow) else {
            throw InjectSecretsError.badInput(
                "setting '\(key)' of provider '\(declaration.name)' must be "
                    + AWSSecretsManagerProvider.BatchOverflow.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or ")
                    + ", found '\(overflow.controlCharactersEscaped)'",
                at: settings.location(of: key))
        }
        return Settings(aws: configuration, overflow: choice)
    }

    package static func make(_ settings: Settings) -> any SecretProvider {
        AWSSecretsManagerProvider(settings: settings)
    }
}

/// Reads Secrets Manager: current versions through BatchGetSecretValue (20 ids a call), pinned versions
/// and staging labels through GetSecretValue; `inspect` reads metadata only (ListSecrets, DescribeSecret,
/// ListSecretVersionIds), never a value.
package struct AWSSecretsManagerProvider: SecretProvider {
    package let name: String
    let client: AWSJSONClient
    /// How many calls may be in flight at once: as many as the HTTP client keeps connections to one
    /// host, so every call reuses a warm connection. Enough that the store always has work queued
    /// while answers travel back (at 16, calls went out in waves that left it idle for a round trip
    /// each). 2,000 secrets are 100 batch calls: one second of the BatchGetSecretValue quota.
    var concurrency = 32
    /// BatchGetSecretValue's quota is 100 calls a second: more secrets than 100 batches' worth are paced
    /// to it rather than throttled.
    let batchPacer: CallPacer
    /// GetSecretValue's own quota (10,000 calls a second, shared with every other reader in the account
    /// and region, such as functions reading their secrets at run time): paced well under it.
    let getPacer: CallPacer
    /// ListSecrets' quota is 100 calls a second: `inspect`'s listing plan is paced to it.
    let listPacer: CallPacer
    let overflow: BatchOverflow
    /// The listing `willInspect` started ahead of `inspect`; copies of the provider share it.
    let heldListing = HeldListing()

    /// What a render does with current values once BatchGetSecretValue's quota is spent
    /// (`batch-overflow:`): wait for it, or read them one by one through GetSecretValue meanwhile, at
    /// up to 20 times the calls for those values.
    package enum BatchOverflow: String, Sendable, CaseIterable {
        case none
        case getSecretValue = "get-secret-value"
    }

    static let batchLimit = 20
    static let batchCallsPerSecond = 100.0
    static let getCallsPerSecond = 2_000.0
    static let listCallsPerSecond = 100.0
    /// The burst the pacers allow, short of the quota's own burst of a second's calls: calls started on
    /// time do not arrive on time (connection set-up, a loaded host), and a quota counts arrivals, so
    /// with no slack a call that arrives a millisecond early is throttled, and its retries, which no
    /// pacer sees, are too.
    static let burstShare = 0.9
    static let overflowKey = "batch-overflow"

    package init(
        _ declaration: ProviderDeclaration, http: HTTPClient = .shared, batchPacer: CallPacer? = nil,
        getPacer: CallPacer? = nil, listPacer: CallPacer? = nil
    ) throws {
        self.init(
            settings: try AWSSecretsManagerStore.settings(declaration), http: http, batchPacer: batchPacer,
            getPacer: getPacer, listPacer: listPacer)
    }

    init(
        settings: AWSSecretsManagerStore.Settings, http: HTTPClient = .shared, batchPacer: CallPacer? = nil,
        getPacer: CallPacer? = nil, listPacer: CallPacer? = nil
    ) {
        self.init(
            name: settings.aws.providerName, client: settings.aws.client(http: http), overflow: settings.overflow,
            batchPacer: batchPacer, getPacer: getPacer, listPacer: listPacer)
    }

    init(
        name: String, client: AWSJSONClient, overflow: BatchOverflow = .none, batchPacer: CallPacer? = nil,
        getPacer: CallPacer? = nil, listPacer: CallPacer? = nil
    ) {
        self.name = name
        self.client = client
        self.overflow = overflow
        self.batchPacer = batchPacer
            ?? CallPacer(rate: Self.batchCallsPerSecond, burst: Self.batchCallsPerSecond * Self.burstShare)
        self.getPacer = getPacer ?? CallPacer(rate: Self.getCallsPerSecond, burst: Self.getCallsPerSecond / 10)
        self.listPacer = listPacer
            ?? CallPacer(rate: Self.listCallsPerSecond, burst: Self.listCallsPerSecond * Self.burstShare)
    }

    /// The next read of `pending` current values, admitted by its pacer: a batch of up to 20 while the
    /// batch quota has room; once it has none, one value through GetSecretValue with
    /// `batch-overflow: get-secret-value`, else a batch that waits for the quota.
    enum Read: Equatable { case batch(Int), single }

    func nextRead(_ pending: Int) async -> Read {
        let batch = Read.batch(min(pending, Self.batchLimit))
        if await batchPacer.tryAdmit() { return batch }
        if overflow == .getSecretValue {
            await getPacer.admit()
            return .single
        }
        await batchPacer.admit()
        return batch
    }

    // MARK: fetch

    package func fetch(_ references: [SecretReference]) async -> [SecretReference: Result<FetchedSecret, ProviderFailure>] {
        // References are distinct by (id, policy), so current values are distinct by id.
        let currentIds = references.filter { $0.policy == .current }.map(\.id)
        let others = references.filter { $0.policy != .current }

        /// Current values are answered per id (a batch answers ids), the others per reference.
        enum Answer: Hashable, Sendable {
            case id(String)
            case reference(SecretReference)
        }
        let outcomes = await withTaskGroup(of: [Answer: Result<FetchedSecret, ProviderFailure>].self) { group in
            var outcomes: [[Answer: Result<FetchedSecret, ProviderFailure>]] = []
            var singles = others[...]
            var pending = currentIds[...]
            var inFlight = 0
            while !singles.isEmpty || !pending.isEmpty {
                if inFlight == concurrency, let outcome = await group.next() {
                    outcomes.append(outcome)
                    inFlight -= 1
                }
                inFlight += 1
                if let reference = singles.popFirst() {
                    await getPacer.admit()
                    group.addTask { [.reference(reference): await getOne(reference)] }
                    continue
                }
                switch await nextRead(pending.count) {
                case .batch(let count):
                    let ids = Array(pending.prefix(count))
                    pending.removeFirst(count)
                    group.addTask {
                        var answers: [Answer: Result<FetchedSecret, ProviderFailure>] = [:]
                        for (id, result) in await batchGet(ids) { answers[.id(id)] = result }
                        return answers
                    }
                case .single:
                    let id = pending.removeFirst()
                    group.addTask { [.id(id): await getOne(SecretReference(name: id, id: id, policy: .current))] }
                }
            }
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }

        var answers: [Answer: Result<FetchedSecret, ProviderFailure>] = [:]
        for outcome in outcomes { answers.merge(outcome) { first, _ in first } }
        var results: [SecretReference: Result<FetchedSecret, ProviderFailure>] = [:]
        for reference in references {
            let key: Answer = reference.policy == .current ? .id(reference.id) : .reference(reference)
            let result = answers[key] ?? .failure(ProviderFailure(.invalidResponse, "no answer"))
            results[reference] = result.mapError { $0.during(.read, of: reference.id) }
        }
        return results
    }

    /// Reads up to 20 current values in one call (following NextToken while ids are unanswered); each
    /// entry of `Errors` fails its own secret.
    func batchGet(_ ids: [String]) async -> [String: Result<FetchedSecret, ProviderFailure>] {
        var results: [String: Result<FetchedSecret, ProviderFailure>] = [:]
        let pages = PageSequence { token, number -> (page: BatchGetOutput, next: String?) in
            // The first page was admitted when the call was planned (nextRead).
            if number > 1 { await batchPacer.admit() }
            let output = try await client.call(
                "BatchGetSecretValue", BatchGetInput(secretIdList: ids, nextToken: token), as: BatchGetOutput.self)
            return (output, output.nextToken)
        }
        do {
            for try await output in pages {
                for entry in output.secretValues ?? [] {
                    guard let id = Self.requestedId(for: entry, among: ids) else { continue }
                    if results[id] == nil { results[id] = entry.fetched(operation: "BatchGetSecretValue") }
                }
                for error in output.errors ?? [] {
                    guard let id = error.secretId, ids.contains(id), results[id] == nil else { continue }
                    let code = error.errorCode.map(AWSErrorAnswer.normalizeCode)
                    var text = "AWS Secrets Manager BatchGetSecretValue failed: \(code ?? "unknown error")"
                    if let message = error.message, !message.isEmpty { text += ": \(RelayedText.line(message))" }
                    results[id] = .failure(ProviderFailure(Self.batchErrorKind(code, message: error.message), text))
                }
                if !ids.contains(where: { results[$0] == nil }) { break }
            }
        } catch {
            let failure = Self.failure(error)
            let unanswered = ids.filter { results[$0] == nil }
            if failure.kind == .accessDenied {
                // Many policies grant GetSecretValue but not BatchGetSecretValue: read these one by one.
                let single = await boundedConcurrentMap(unanswered, limit: concurrency, pacer: getPacer) { id in
                    (id, await getOne(SecretReference(name: id, id: id, policy: .current)))
                }
                for (id, result) in single {
                    results[id] = result.mapError { single in
                        var single = single
                        single.detail += " (BatchGetSecretValue was denied too)"
                        return single
                    }
                }
            } else {
                for id in unanswered { results[id] = .failure(failure) }
            }
            return results
        }
        for id in ids where results[id] == nil {
            results[id] = .failure(ProviderFailure(
                .invalidResponse, "AWS Secrets Manager BatchGetSecretValue did not answer for this secret"))
        }
        return results
    }

    /// The requested id an answer belongs to: its name, its full ARN, or its ARN without the random suffix.
    static func requestedId(for entry: SecretValueEntry, among ids: [String]) -> String? {
        if let name = entry.name, ids.contains(name) { return name }
        guard let arn = entry.arn else { return nil }
        if ids.contains(arn) { return arn }
        return ids.first { $0.hasPrefix("arn:") && arn.hasPrefix($0 + "-") && arn.count == $0.count + 7 }
    }

    static func batchErrorKind(_ code: String?, message: String?) -> ProviderFailure.Kind {
        switch code {
        case "DecryptionFailure"?: return .accessDenied
        case "InvalidRequestException"? where message?.lowercased().contains("deleted") == true: return .notFound
        default: return StatusTable.kind(status: 400, codes: [code], asking: .endpoint)
        }
    }

    /// A pinned VersionId or a staging label, through GetSecretValue.
    func getOne(_ reference: SecretReference) async -> Result<FetchedSecret, ProviderFailure> {
        var input = GetInput(secretId: reference.id)
        switch reference.policy {
        case .current: break
        case .version(let id): input.versionId = id
        case .stage(let label): input.versionStage = label
        }
        do {
            let entry = try await client.call("GetSecretValue", input, as: SecretValueEntry.self)
            return entry.fetched(operation: "GetSecretValue")
        } catch {
            var failure = Self.failure(error)
            if failure.kind == .notFound, reference.policy != .current,
                let call = error as? AWSCallError, call.serviceMessage?.contains("secret value for") == true
            {
                failure.kind = .versionNotFound
            }
            if failure.kind == .notFound, case .stage(let label) = reference.policy {
                failure.detail += " (no version holds the staging label \(label), or the secret does not exist)"
            }
            return .failure(failure)
        }
    }

    static func failure(_ error: Error) -> ProviderFailure {
        switch error {
        case let error as AWSCallError:
            var failure = error.failure()
            if error.code == "InvalidRequestException", error.serviceMessage?.lowercased().contains("deleted") == true {
                failure.kind = .notFound
            }
            return failure
        case let error as ProviderFailure: return error
        default: return ProviderFailure(.unreachable, "AWS Secrets Manager: \(type(of: error))")
        }
    }

    // MARK: inspect

    package func credentialsInUse() async -> [String] { await client.credentials.credentialsInUse() }

    /// Starts listing `ids` now, in a task of its own. A fleet's listing waits on ListSecrets' quota for a
    /// second or more, and drift knows its ids well before it has made its queries.
    package func willInspect(_ ids: [String]) {
        heldListing.hold(SecretsManagerListing(ids: ids, provider: self))
    }

    /// Stops a listing that `inspect` never took.
    package func finish() async { heldListing.stop() }

    package func inspect(_ queries: [VersionQuery]) async -> [Result<VersionStatus, ProviderFailure>] {
        let asked = QueryPositions(queries)
        let names = Self.listedNames(asked.ids)
        // Names go through ListSecrets, grouped by shared prefixes (SecretsManagerListPlan); ARNs, names a
        // name filter cannot carry, and names the list did not return go through DescribeSecret.
        // Most answers are in the listing itself: each page's are made as it arrives, while the paced
        // calls after it wait, rather than all after the last page.
        let listing = await heldListing.take(for: names) ?? SecretsManagerListing(names: names, provider: self)
        var metadata: [String: Result<SecretMetadata, ProviderFailure>] = [:]
        var results = [Result<VersionStatus, ProviderFailure>?](repeating: nil, count: queries.count)
        let crowded = await list(listing, answering: queries, asked: asked, into: &metadata, results: &results)
        if !crowded.isEmpty {
            let again = SecretsManagerListing(names: crowded.sorted(), provider: self, plan: SecretsManagerListPlan.exact)
            await list(again, answering: queries, asked: asked, into: &metadata, results: &results)
        }
        // Found from the queries still unanswered, which after a listing are few or none.
        let unanswered = Set(queries.indices.lazy.filter { results[$0] == nil }.map { queries[$0].reference.id })
        let remaining = unanswered.filter { metadata[$0] == nil }.sorted()
        let described = await boundedConcurrentMap(remaining, limit: concurrency) { id in
            (id, await describeSecret(id))
        }
        for (id, result) in described { metadata[id] = result }

        // The rest ask the store again (a creation date, an unlabelled version), up to `concurrency` at once.
        let answered = metadata
        var asking: [Int] = []
        for index in queries.indices where results[index] == nil {
            let query = queries[index]
            let found = answered[query.reference.id]!
            if Self.needsMoreCalls(query, metadata: found) {
                asking.append(index)
            } else {
                results[index] = await status(for: query, metadata: found).mapError { $0.during(.inspect, of: query.reference.id) }
            }
        }
        let statuses = await boundedConcurrentMap(asking, limit: concurrency) { index in
            await status(for: queries[index], metadata: answered[queries[index].reference.id]!)
        }
        for (index, result) in zip(asking, statuses) {
            results[index] = result.mapError { $0.during(.inspect, of: queries[index].reference.id) }
        }
        let answers = results.map { $0! }
        // Freeing a fleet's listing (the metadata of 20,000 secrets) would hold the answers back by tens
        // of milliseconds.
        releaseInBackground(consume metadata, consume answered, consume asked, consume listing, consume names)
        return answers
    }

    /// Whether a name can go in a ListSecrets name filter (whose values allow `a-zA-Z0-9 :_@/+=.-!` and
    /// treat a leading `!` as negation).
    /// The names listed for `ids`: those a name filter can carry, sorted and distinct. One function
    /// for `willInspect` and `inspect`, so that a listing started for the same ids is known as such.
    static func listedNames(_ ids: some Sequence<String>) -> [String] {
        Set(ids.lazy.filter(isListableName)).sorted()
    }

    static func isListableName(_ id: String) -> Bool {
        // Bytes, not characters: every allowed character is ASCII, and a drift checks 20,000 names.
        let bytes = id.utf8
        guard !bytes.isEmpty, bytes.count <= 512, !id.hasPrefix("arn:"), bytes.first != UInt8(ascii: "!") else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "/"), UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: "."), UInt8(ascii: "@"),
                UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    /// Answers the names the listing's calls found, as each call's pages arrive. Returns the unanswered
    /// names of prefix calls that ran out of pages, to be listed by exact name; names a finished listing
    /// did not return, names of an exact call out of pages, and names of a denied call are left for
    /// DescribeSecret.
    @discardableResult
    func list(
        _ listing: SecretsManagerListing, answering queries: [VersionQuery], asked: QueryPositions,
        into metadata: inout [String: Result<SecretMetadata, ProviderFailure>],
        results: inout [Result<VersionStatus, ProviderFailure>?]
    ) async -> [String] {
        var crowded: [String] = []
        for await (call, listed) in listing.pages {
            switch listed {
            case .success(let page):
                for (id, secret) in page.found where metadata[id] == nil {
                    metadata[id] = .success(secret)
                    // The answers that need no further call.
                    for index in asked.positions(of: id)
                    where results[index] == nil && !Self.needsMoreCalls(queries[index], metadata: .success(secret)) {
                        let answer = await status(for: queries[index], metadata: .success(secret))
                        results[index] = answer.mapError { $0.during(.inspect, of: id) }
                    }
                }
                if !page.finished, !call.isExact { crowded += call.names.filter { page.found[$0] == nil } }
            case .failure(let failure) where failure.kind == .accessDenied:
                break  // ListSecrets may be denied where DescribeSecret is allowed: ask each secret.
            case .failure(let failure):
                for name in call.names { metadata[name] = .failure(failure) }
            }
        }
        return crowded
    }

    /// One ListSecrets call of up to 10 name filter values, paged until its names are all seen, the
    /// list ends, or the page budget is spent. Name filters match prefixes, so only exact names are kept.
    func listSecrets(_ call: SecretsManagerListPlan.Call) async -> ListedSecrets {
        let wanted = Set(call.names)
        var found: [String: SecretMetadata] = [:]
        let pages = PageSequence(maxPages: call.pageBudget) { token, number -> (page: ListSecretsOutput, next: String?) in
            let input = ListSecretsInput(
                filters: [.init(key: "name", values: call.values)], includePlannedDeletion: true, maxResults: 100,
                nextToken: token)
            // The first page was admitted when the call was started (`list`).
            if number > 1 { await listPacer.admit() }
            let output = try await client.call("ListSecrets", input, as: ListSecretsOutput.self)
            return (output, output.nextToken)
        }
        var finished = false
        do {
            for try await output in pages {
                for entry in output.secretList ?? [] {
                    if let name = entry.name, wanted.contains(name), found[name] == nil { found[name] = entry }
                }
                finished = output.nextToken?.isEmpty ?? true
                if found.count == wanted.count { break }
            }
        } catch {
            return .failure(Self.failure(error))
        }
        return .success((found, finished || found.count == wanted.count))
    }

    func describeSecret(_ id: String) async -> Result<SecretMetadata, ProviderFailure> {
        do {
            return .success(try await client.call("DescribeSecret", SecretIdInput(secretId: id), as: SecretMetadata.self))
        } catch {
            return .failure(Self.failure(error))
        }
    }

    /// Whether `version` still exists without labels (AWS leaves such versions out of DescribeSecret).
    func unlabeledVersionExists(_ version: String, secretId: String) async -> Result<Bool, ProviderFailure> {
        await listedVersion(version, secretId: secretId).map { $0 != nil }
    }

    /// Whether `status(for:metadata:)` may call the store: for a creation date, or for a locked or
    /// pinned version the metadata does not label.
    static func needsMoreCalls(_ query: VersionQuery, metadata: Result<SecretMetadata, ProviderFailure>) -> Bool {
        guard case .success(let secret) = metadata, !secret.isDeleted else { return false }
        let stages = secret.versionsToStages ?? [:]
        if query.wantsDates { return true }
        if let locked = query.lockedVersion, stages[locked] == nil { return true }
        if case .version(let id) = query.reference.policy, stages[id] == nil { return true }
        return false
    }

    /// The version status from the metadata: the selected version, the locked version's state, and a
    /// rotation in flight.
    func status(for query: VersionQuery, metadata: Result<SecretMetadata, ProviderFailure>) async
        -> Result<VersionStatus, ProviderFailure>
    {
        let secret: SecretMetadata
        switch metadata {
        case .success(let found):
            secret = found
        case .failure(let failure):
            // A secret that no longer exists takes its locked version with it: that is drift, not an error.
            if failure.kind == .notFound, query.lockedVersion != nil {
                return .success(VersionStatus(
                    selected: nil, locked: .gone(reason: "the secret no longer exists"), notes: []))
            }
            return .failure(failure)
        }
        let stages = secret.versionsToStages ?? [:]
        func holder(of label: String) -> String? {
            var holder: String?
            for (version, labels) in stages where labels.contains(label) {
                if holder.map({ version < $0 }) ?? true { holder = version }
            }
            return holder
        }
        let current = holder(of: "AWSCURRENT")
        let selected: String?
        switch query.reference.policy {
        case .current: selected = current
        case .stage(let label): selected = holder(of: label)
        case .version(let id): selected = id
        }

        var notes: [String] = []
        if let pending = holder(of: "AWSPENDING"), pending != current {
            notes.append("rotation in flight: version \(pending) holds AWSPENDING")
        }

        if secret.isDeleted {
            if query.lockedVersion != nil {
                // The metadata still names the versions; none can be read until RestoreSecret.
                return .success(VersionStatus(
                    selected: selected, locator: secret.arn,
                    locked: .gone(reason: "the secret is scheduled for deletion (RestoreSecret brings it back)"),
                    notes: notes))
            }
            return .failure(ProviderFailure(
                .notFound, "AWS Secrets Manager: the secret is scheduled for deletion (restore it with RestoreSecret)"))
        }

        var locked: VersionStatus.LockedState?
        if let version = query.lockedVersion {
            if let labels = stages[version] {
                locked = labels.isEmpty ? .unlabeled : .present
            } else {
                switch await unlabeledVersionExists(version, secretId: secret.arn ?? query.reference.id) {
                case .success(true):
                    locked = .unlabeled
                case .success(false):
                    locked = .gone(reason: "version \(version) no longer exists")
                case .failure(let failure) where failure.kind == .accessDenied:
                    locked = .gone(reason:
                        "version \(version) has no staging label left (secretsmanager:ListSecretVersionIds is not "
                        + "allowed, so whether it still exists unlabelled is unknown)")
                case .failure(let failure):
                    return .failure(failure)
                }
            }
        }
        if case .version(let id) = query.reference.policy, stages[id] == nil, query.lockedVersion != id {
            // A pinned version that is not among the labelled versions: say whether it still exists.
            if case .success(false) = await unlabeledVersionExists(id, secretId: secret.arn ?? query.reference.id) {
                notes.append("the pinned version \(id) does not exist")
            }
        }
        var created: Date?
        if query.wantsDates, let selected {
            switch await versionCreated(selected, secretId: secret.arn ?? query.reference.id) {
            case .success(let date): created = date
            case .failure(let failure): return .failure(failure)
            }
        }
        return .success(VersionStatus(selected: selected, locator: secret.arn, locked: locked, notes: notes, created: created))
    }
}

extension AWSSecretsManagerProvider.SecretValueEntry {
    /// The value as text: SecretString, else SecretBinary's base64 text.
    func fetched(operation: String) -> Result<FetchedSecret, ProviderFailure> {
        guard let versionId, !versionId.isEmpty else {
            return .failure(ProviderFailure(.invalidResponse, "AWS Secrets Manager \(operation) returned no VersionId"))
        }
        guard let text = secretString ?? secretBinary else {
            return .failure(ProviderFailure(
                .invalidResponse, "AWS Secrets Manager \(operation) returned neither SecretString nor SecretBinary"))
        }
        return .success(FetchedSecret(version: versionId, locator: arn, value: SecretValue(text)))
    }
}

/// The queries by id, as positions in the queries: most ids are asked once (the engine asks each read
/// once), so the first position of each is kept apart from the rare others, and 20,000 ids cost no
/// array each.
struct QueryPositions: Sendable {
    private var first: [String: Int] = [:]
    private var others: [String: [Int]] = [:]

    init(_ queries: [VersionQuery]) {
        first.reserveCapacity(queries.count)
        for (index, query) in queries.enumerated() {
            let id = query.reference.id
            // One hash for an id asked once; a repeat puts the first position back.
            if let earlier = first.updateValue(index, forKey: id) {
                first[id] = earlier
                others[id, default: []].append(index)
            }
        }
    }

    var ids: Dictionary<String, Int>.Keys { first.keys }

    func positions(of id: String) -> Positions { Positions(first: first[id], others: others[id]?[...] ?? []) }

    struct Positions: Sequence, IteratorProtocol {
        var first: Int?
        var others: ArraySlice<Int>

        mutating func next() -> Int? {
            if let position = first {
                first = nil
                return position
            }
            return others.popFirst()
        }
    }
}
