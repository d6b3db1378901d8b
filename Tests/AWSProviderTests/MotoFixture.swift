import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
@testable import InjectSecretsAWS
@testable import InjectSecretsKit
import TestSupport

/// Any JSON value, for seeding moto and for reading the proxy's counters.
enum JSON: Codable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSON])
    case object([String: JSON])
    case null

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSON].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    subscript(key: String) -> JSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var int: Int? {
        if case .number(let value) = self { return Int(value) }
        return nil
    }

    var array: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
    init(arrayLiteral elements: JSON...) { self = .array(elements) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int) { self = .number(Double(value)) }
}

/// An AWS identity the tests sign with. Never printed.
struct TestIdentity: Decodable {
    var AccessKeyId: String
    var SecretAccessKey: String
    var SessionToken: String?

    /// The process environment a provider reads credentials from.
    func environment(region: String? = "us-east-1") -> [String: String] {
        var variables = ["AWS_ACCESS_KEY_ID": AccessKeyId, "AWS_SECRET_ACCESS_KEY": SecretAccessKey]
        if let SessionToken { variables["AWS_SESSION_TOKEN"] = SessionToken }
        if let region { variables["AWS_REGION"] = region }
        return variables
    }

    var credentials: AWSCredentials {
        AWSCredentials(accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken)
    }
}

struct TestIdentities: Decodable {
    var admin: TestIdentity
    var metadata: TestIdentity
    var getSecretValueOnly: TestIdentity
    var session: TestIdentity
}

struct StaticCredentials: AWSCredentialSource {
    var value: AWSCredentials
    func credentials() async throws -> AWSCredentials { value }
}

/// A moto_server that checks SigV4 and IAM (INITIAL_NO_AUTH_ACTION_COUNT=0), its bootstrapped identities,
/// and the counting, fault-injecting proxy in front of it. One per test class.
final class MotoFixture {
    let moto: LoopbackServer
    let proxy: LoopbackServer
    let identities: TestIdentities
    let temporaryDirectory: URL
    /// For the fault tests: 5 s request timeout (see `impatientProvider`).
    let impatientHTTP = HTTPClient(timeout: 5)

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Starts everything, or returns nil (after a loud message; a failure under CI=true) when moto is missing.
    static func start() throws -> MotoFixture? {
        let hasMoto = which("moto_server") != nil
        let hasPython = which("python3") != nil
        guard hasMoto, hasPython,
            (try? runProcess("python3", ["-c", "import boto3"], timeout: 60))?.status == 0
        else {
            _ = try missingServer("moto_server (with python3 and boto3)", install: "pip install 'moto[server]' boto3")
            return nil
        }
        return try MotoFixture()
    }

    private init() throws {
        let motoPort = try freePort()
        moto = try LoopbackServer(
            executable: "moto_server", arguments: ["-H", "127.0.0.1", "-p", String(motoPort)], port: motoPort,
            environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "0"], startupTimeout: 120)
        let proxyPort = try freePort()
        proxy = try LoopbackServer(
            executable: "python3",
            arguments: [Self.fixtures.appendingPathComponent("aws_proxy.py").path, String(proxyPort), moto.baseURL],
            port: proxyPort, startupTimeout: 60)
        let bootstrap = try runProcess(
            "python3", [Self.fixtures.appendingPathComponent("moto_iam_bootstrap.py").path, moto.baseURL], timeout: 300)
        guard bootstrap.status == 0 else {
            // stderr only: stdout holds the keys.
            throw TestFailure("IAM bootstrap failed (\(bootstrap.status)):\n\(bootstrap.stderr.suffix(3000))")
        }
        identities = try JSONDecoder().decode(TestIdentities.self, from: Data(bootstrap.stdout.utf8))
        temporaryDirectory = try makeTemporaryDirectory("aws")
    }

    func stop() {
        proxy.stop()
        moto.stop()
        try? FileManager.default.removeItem(at: temporaryDirectory)
    }

    /// A client straight to moto, for seeding (admin identity unless told otherwise).
    func seeder(_ service: String, identity: TestIdentity? = nil) -> AWSJSONClient {
        let (signing, prefix) = service == "ssm" ? ("ssm", "AmazonSSM") : ("secretsmanager", "secretsmanager")
        return AWSJSONClient(
            serviceName: "seed \(service)", signingName: signing, targetPrefix: prefix,
            endpoint: URL(string: moto.baseURL + "/")!, region: "us-east-1",
            credentials: StaticCredentials(value: (identity ?? identities.admin).credentials),
            retry: RetryPolicy(maxAttempts: 1))
    }

    @discardableResult
    func seed(_ service: String, _ operation: String, _ input: JSON) async throws -> JSON {
        try await seeder(service).call(operation, input, as: JSON.self)
    }

    /// A provider declared as in a manifest, pointed at the proxy unless `endpoint` is given.
    func declaration(
        type: String, settings: [String: String] = [:], environment: [String: String], endpoint: String? = nil
    ) throws -> ProviderDeclaration {
        var all = settings
        if all["endpoint"] == nil { all["endpoint"] = endpoint ?? proxy.baseURL }
        return try providerDeclaration(
            [("type", type)] + all.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }, name: "aws",
            baseDirectory: temporaryDirectory, environment: environment)
    }

    // MARK: proxy control

    func proxyControl(_ path: String, body: String = "") throws -> JSON {
        let method = path == "stats" ? "GET" : "POST"
        var request = URLRequest(url: URL(string: "\(proxy.baseURL)/__proxy/\(path)")!)
        request.httpMethod = method
        if method == "POST" { request.httpBody = Data(body.utf8) }
        final class Box: @unchecked Sendable { var result: Result<Data, Error> = .failure(TestFailure("no answer")) }
        let box = Box()
        let semaphore = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, _, error in
            box.result = error.map { .failure($0) } ?? .success(data ?? Data())
            semaphore.signal()
        }.resume()
        semaphore.wait()
        return try JSONDecoder().decode(JSON.self, from: try box.result.get())
    }

    func resetProxy() throws { _ = try proxyControl("reset") }

    func injectFaults(rate: Double, kinds: [String], seed: Int = 7) throws {
        let kindsJSON = kinds.map { "\"\($0)\"" }.joined(separator: ",")
        _ = try proxyControl("faults", body: "{\"rate\": \(rate), \"kinds\": [\(kindsJSON)], \"seed\": \(seed)}")
    }

    /// Requests the proxy received per X-Amz-Target (retries included).
    func received() throws -> [String: Int] {
        counts(try proxyControl("stats")["received"])
    }

    func faults() throws -> [String: Int] {
        counts(try proxyControl("stats")["faults"])
    }

    func decrypting() throws -> [String: Int] {
        counts(try proxyControl("stats")["decrypting"])
    }

    private func counts(_ json: JSON?) -> [String: Int] {
        guard case .object(let object)? = json else { return [:] }
        return object.compactMapValues(\.int)
    }
}

/// Every text a test produced from a provider: failure messages and status descriptions, for canary scans.
func texts<V>(_ results: [SecretReference: Result<V, ProviderFailure>]) -> [String: String] {
    var texts: [String: String] = [:]
    for (reference, result) in results {
        switch result {
        case .success(let value): texts["\(reference.name) success"] = "\(value) \(String(reflecting: value))"
        case .failure(let failure): texts["\(reference.name) failure"] = failure.message + " " + String(reflecting: failure)
        }
    }
    return texts
}

func texts(_ results: [VersionQuery: Result<VersionStatus, ProviderFailure>]) -> [String: String] {
    var texts: [String: String] = [:]
    for (query, result) in results {
        switch result {
        case .success(let status): texts["\(query.reference.name) status"] = String(reflecting: status)
        case .failure(let failure): texts["\(query.reference.name) failure"] = failure.message
        }
    }
    return texts
}

/// Inspects one query and returns its status, or throws its failure.
func inspectOne(_ provider: any SecretProvider, _ query: VersionQuery) async throws -> VersionStatus {
    try await provider.inspectOne(query).get()
}
