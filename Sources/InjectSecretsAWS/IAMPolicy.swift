import Foundation
import InjectSecretsKit

/// An IAM policy document (`Version` 2012-10-17), built statement by statement, printed with keys in
/// IAM's usual order for people and as sorted JSON for pipelines.
package struct IAMPolicy {
    package struct Statement {
        var sid: String
        var actions: [String]
        var resources: [String]
        /// Operator -> key -> values.
        var conditions: [String: [String: [String]]] = [:]

        package init(sid: String, actions: [String], resources: [String], conditions: [String: [String: [String]]] = [:]) {
            self.sid = sid
            self.actions = actions
            self.resources = resources
            self.conditions = conditions
        }

        var json: JSONValue {
            var members: [String: JSONValue] = [
                "Sid": .string(sid), "Effect": .string("Allow"),
                "Action": actions.count == 1 ? .string(actions[0]) : .array(actions.map(JSONValue.string)),
                "Resource": resources.count == 1 ? .string(resources[0]) : .array(resources.map(JSONValue.string)),
            ]
            if !conditions.isEmpty {
                members["Condition"] = .object(conditions.mapValues { keys in
                    .object(keys.mapValues { $0.count == 1 ? .string($0[0]) : .array($0.map(JSONValue.string)) })
                })
            }
            return .object(members)
        }
    }

    package var statements: [Statement] = []

    package init() {}

    /// `kms:Decrypt` only through `service` in the place's region and only for `arns`, named by the
    /// encryption context key the service sets on what it encrypts (`contextKey`).
    mutating func allowDecrypt(sid: String, service: String, contextKey: String, arns: [String], place: AWSResourcePlace) {
        let wildcard = arns.contains { $0.contains("?") || $0.contains("*") } || place.region == "*"
        statements.append(.init(
            sid: sid, actions: ["kms:Decrypt"], resources: ["*"],
            conditions: [wildcard ? "StringLike" : "StringEquals": [
                "kms:ViaService": [place.viaService(service)],
                contextKey: arns,
            ]]))
    }

    package var json: JSONValue {
        .object(["Version": .string("2012-10-17"), "Statement": .array(statements.map(\.json))])
    }

    /// Every action the document allows.
    var actions: [String] { statements.flatMap(\.actions) }
}

/// Where AWS resources of one provider live: partition, region and account, from the lock's ARNs when
/// they have them, else from the provider's settings and the environment; an account known from
/// neither is a wildcard (and the policy says so).
package struct AWSResourcePlace {
    var partition: String
    var region: String
    var account: String
    /// What had to be guessed, for the notes.
    var guessed: [String] = []

    /// The parts of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
    package static func parts(of arn: String) -> (partition: String, service: String, region: String, account: String, resource: String)? {
        let fields = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 6, fields[0] == "arn" else { return nil }
        return (fields[1], fields[2], fields[3], fields[4], fields[5])
    }

    /// `settings` are the provider's own, so the region is the one it reads from.
    init(settings: AWSStoreConfiguration, lockedARNs: [String]) {
        let known = lockedARNs.compactMap(AWSResourcePlace.parts(of:)).first
        region = known?.region ?? settings.region
        partition = known?.partition ?? AWSPartition.of(region: region).name
        if let account = known?.account ?? settings.environment.variables["AWS_ACCOUNT_ID"], !account.isEmpty {
            self.account = account
        } else {
            self.account = "*"
            guessed.append("the account id (set AWS_ACCOUNT_ID, or render once so the lock records each ARN)")
        }
    }

    /// `kms:ViaService` for a service in this region.
    func viaService(_ service: String) -> String {
        "\(service).\(region).\(AWSPartition.of(region: region).dnsSuffix)"
    }
}
