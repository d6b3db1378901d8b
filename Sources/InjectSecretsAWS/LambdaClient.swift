import Foundation
import InjectSecretsKit

/// Lambda's REST-JSON API, signed with SigV4 (signing name `lambda`), with the AWS retry rules. Also
/// STS GetCallerIdentity, for the account in a function ARN. Knows nothing of manifests.
package struct LambdaClient: Sendable {
    package var region: String
    var endpoint: URL
    var stsEndpoint: URL
    package var credentials: any AWSCredentialSource
    package var taggingEndpoint: URL
    package var http: HTTPClient
    package var retry: RetryPolicy
    /// One per region in a run: Lambda's control-plane quota is per account and region, so the calls of
    /// all functions in flight there draw from one bucket, retries included.
    var pacer: CallPacer?
    /// GetFunction's own quota.
    var getFunctionPacer: CallPacer?
    let getFunctionDenied = OnceFlag()

    /// Which of Lambda's quotas a call counts against.
    enum Quota { case controlPlane, getFunction }

    package init(region: String, environment: [String: String], http: HTTPClient = .shared, pacing: LambdaPacing? = nil) throws {
        let aws = AWSEnvironment(variables: environment)
        func resolve(_ service: AWSService) throws -> URL {
            do {
                return try service.endpoint(region: region, environment: aws)
            } catch let violation as EndpointPolicy.Violation {
                throw InjectSecretsError.badInput(
                    "the \(service.hostPrefix) endpoint configured by AWS_ENDPOINT_URL_\(service.endpointID) or "
                        + "AWS_ENDPOINT_URL: \(violation.message)")
            }
        }
        self.region = region
        endpoint = try resolve(.lambda)
        stsEndpoint = try resolve(.sts)
        taggingEndpoint = try resolve(.tagging)
        pacer = pacing?.pacer()
        getFunctionPacer = pacing.map { _ in LambdaPacing.getFunctionPacer() }
        let http = http.trusting(try aws.caBundle()).proxying(from: environment)
        credentials = aws.credentialSource(client: http, region: region)
        self.http = http
        retry = AWSService.retryPolicy(environment: environment)
    }

    package struct Failure: Error {
        package var code: String?
        var status: Int?
        package var message: String
        package var kind: ProviderFailure.Kind
        /// The rendered values cannot be sent (exit 4), rather than a refusal by Lambda.
        package var unwritable = false

        package init(code: String?, status: Int?, message: String, kind: ProviderFailure.Kind, unwritable: Bool = false) {
            self.code = code
            self.status = status
            self.message = message
            self.kind = kind
            self.unwritable = unwritable
        }
    }

    /// The standard mode's answers, and a conflicting update in progress (ResourceConflictException),
    /// which is waited out a second at a time rather than backed off: it ends when the other update does.
    static let retryable = RetryPolicy.Retryable(
        wait: { response in AWSErrorAnswer(response).code == "ResourceConflictException" ? 1 : response.retryAfter() },
        answer: { response in
            AWSErrorAnswer.retryable.answer(response) || AWSErrorAnswer(response).code == "ResourceConflictException"
        })

    /// Sends one call; returns the decoded JSON object of a 2xx answer. Retries throttling, 5xx, a
    /// conflicting update in progress and network failures; throws `Failure` otherwise.
    /// `bodyHoldsValues`: the request carries rendered values, and Lambda's errors about it can quote
    /// them (the 4 KB error ends "String measured: {...}", the whole environment), so only the error
    /// code is relayed.
    func call(
        _ method: String, _ path: String, json: JSONValue? = nil, service: AWSService = .lambda, url base: URL? = nil,
        form: [(String, String)]? = nil,
        quota: Quota = .controlPlane, bodyHoldsValues: Bool = false
    ) async throws -> (status: Int, body: Data) {
        let pacer = quota == .getFunction ? getFunctionPacer : pacer
        var text = (base ?? endpoint).absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text + path) else { throw Failure(code: nil, status: nil, message: "bad request path \(path)", kind: .configuration) }
        var headers: [(String, String)] = []
        var body = Data()
        if let json {
            body = Data(json.serialized().utf8)
            headers.append(("Content-Type", "application/json"))
        } else if let form {
            body = formEncoded(form)
            headers.append(("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"))
        }
        let request = HTTPRequest(method: method, url: url, headers: headers, body: body)
        do {
            let outcome = try await retry.send({ _ in
                // Paced before signing, so a long wait in the queue cannot age the signature.
                await pacer?.admit()
                var signed = request
                let credentials = try await self.credentials.credentials()
                SigV4Signer(credentials: credentials, region: region, service: service.signingName).sign(&signed)
                return try await http.send(signed)
            }, retrying: Self.retryable)
            guard (200..<300).contains(outcome.response.status) else {
                var failure = Self.failure(outcome.response, relayingMessage: !bodyHoldsValues)
                failure.message += outcome.attemptsNote
                throw failure
            }
            return (outcome.response.status, outcome.response.body)
        } catch let failure as RetryFailure {
            throw Self.described(failure, host: url.host ?? "")
        }
    }

    static func failure(_ response: HTTPResponse, relayingMessage: Bool = true) -> Failure {
        let answer = AWSErrorAnswer(response)
        let relayed = relayingMessage
            ? answer.message.map { ": \(RelayedText.line($0))" } ?? ""
            : " (Lambda's message is not shown: it can quote the environment sent; a common cause is more than 4 KB of variables)"
        return Failure(
            code: answer.code, status: response.status,
            message: "\(answer.code ?? "HTTP \(response.status)")" + relayed,
            kind: StatusTable.kind(status: response.status, codes: [answer.code], asking: .endpoint))
    }

    static func described(_ failure: RetryFailure, host: String) -> Failure {
        let provider = failure.providerFailure(reaching: host)
        return Failure(code: nil, status: nil, message: provider.message, kind: provider.kind)
    }

    /// `/2015-03-31/functions/{name}/configuration`, the name (or ARN) percent-encoded as one segment.
    static func encoded(_ segment: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    /// The fields of a FunctionConfiguration the deploy needs; the Environment is decoded only when asked.
    package struct Configuration {
        package var arn: String?
        package var state: String?
        package var lastUpdateStatus: String?
        package var lastUpdateStatusReason: String?
        package var variables: [String: String]?

        init(_ body: Data, withVariables: Bool, under key: String? = nil) {
            var object = (try? JSONValue.parse(body))?.object ?? [:]
            if let key { object = object[key]?.object ?? [:] }
            arn = object["FunctionArn"]?.string
            state = object["State"]?.string
            lastUpdateStatus = object["LastUpdateStatus"]?.string
            lastUpdateStatusReason = object["LastUpdateStatusReason"]?.string
            if withVariables {
                variables = (object["Environment"]?["Variables"]?.object ?? [:]).compactMapValues(\.string)
            }
        }
    }

    package func configuration(of name: String, withVariables: Bool = false) async throws -> Configuration {
        let (_, body) = try await call("GET", "/2015-03-31/functions/\(Self.encoded(name))/configuration")
        return Configuration(body, withVariables: withVariables)
    }

    /// Where an update stands. GetFunction has a quota of its own (100 a second, apart from the 15 of
    /// the rest of the control plane), so polling with it leaves the shared budget to updates and tags.
    /// A role allowed only GetFunctionConfiguration (all that earlier versions asked for) is polled
    /// with that instead, from its first refusal on.
    package func updateStatus(of name: String) async throws -> Configuration {
        if await !getFunctionDenied.isSet {
            do {
                let (_, body) = try await call("GET", "/2015-03-31/functions/\(Self.encoded(name))", quota: .getFunction)
                return Configuration(body, withVariables: false, under: "Configuration")
            } catch let failure as Failure where failure.code == "AccessDeniedException" {
                await getFunctionDenied.set()
            }
        }
        return try await configuration(of: name)
    }

    package func updateEnvironment(of name: String, to variables: [String: String]) async throws -> Configuration {
        let json = JSONValue.object(["Environment": .object(["Variables": .object(variables.mapValues(JSONValue.string))])])
        let (_, body) = try await call("PUT", "/2015-03-31/functions/\(Self.encoded(name))/configuration", json: json, bodyHoldsValues: true)
        return Configuration(body, withVariables: false)
    }

    package func tag(_ arn: String, _ tags: [String: String]) async throws {
        _ = try await call("POST", "/2017-03-31/tags/\(Self.encoded(arn))", json: .object(["Tags": .object(tags.mapValues(JSONValue.string))]))
    }

    package func tags(of arn: String) async throws -> [String: String] {
        let (_, body) = try await call("GET", "/2017-03-31/tags/\(Self.encoded(arn))")
        return ((try? JSONValue.parse(body))?["Tags"]?.object ?? [:]).compactMapValues(\.string)
    }

    /// The account of the caller, for function ARNs (ListTags takes only an ARN).
    package func account() async throws -> String {
        let (_, body) = try await call(
            "POST", "/", service: .sts, url: stsEndpoint, form: [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")])
        guard let account = AWSXMLFields.parse(body)["Account"] else {
            throw Failure(code: nil, status: nil, message: "STS GetCallerIdentity gave no Account", kind: .invalidResponse)
        }
        return account
    }

    package func arn(of name: String, account: String) -> String {
        if name.hasPrefix("arn:") { return name }
        return "arn:\(AWSPartition.of(region: region).name):lambda:\(region):\(account):function:\(name)"
    }
}
