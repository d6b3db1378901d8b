import Foundation
import InjectSecretsKit

/// The IAM policy an AWS SSM Parameter Store provider needs.
///
/// - render: `ssm:GetParameters` on the exact parameter ARNs the lock records, and `kms:Decrypt` for
///   SecureString parameters, allowed only through SSM in this region (`kms:ViaService`) and only for
///   these parameters (`kms:EncryptionContext:PARAMETER_ARN`, which Parameter Store sets on every
///   SecureString it encrypts).
/// - drift: `ssm:DescribeParameters` (no resource ARN; metadata only) and `ssm:GetParameterHistory` on
///   the same ARNs. Honestly: GetParameterHistory is the only way to see labels and older versions
///   (to tell `rotated` and `version-gone`), and AWS returns each version's `Value` with it: the plain
///   text of String and StringList parameters, the encrypted blob of SecureString ones (this policy
///   grants no `kms:Decrypt`, and inject-secrets asks with WithDecryption=false and ignores `Value`).
///   Keep secrets in SecureString parameters and the drift role cannot read them.
package enum ParameterStorePolicy {
    package static let valueActions: Set<String> = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "kms:Decrypt"]

    package static func describe(_ request: AccessPolicyRequest, settings: AWSParameterStore.Settings) -> AccessPolicy {
        let lockedARNs = request.secrets.compactMap { $0.locked?.locator }.filter { $0.hasPrefix("arn:") }
        let place = AWSResourcePlace(settings: settings, lockedARNs: lockedARNs)
        var arns: [String] = []
        var approximate: [String] = []
        for secret in request.secrets {
            if let locator = secret.locked?.locator, locator.hasPrefix("arn:") {
                arns.append(locator)
            } else if secret.id.hasPrefix("arn:") {
                arns.append(secret.id)
            } else {
                let name = secret.id.hasPrefix("/") ? String(secret.id.dropFirst()) : secret.id
                arns.append("arn:\(place.partition):ssm:\(place.region):\(place.account):parameter/\(name)")
                if !place.guessed.isEmpty { approximate.append(secret.name) }
            }
        }
        arns = Array(Set(arns)).sorted()
        var policy = IAMPolicy()
        var notes: [String] = []
        let wildcard = arns.contains { $0.contains("*") } || place.region == "*"
        switch request.purpose {
        case .render:
            policy.statements.append(.init(sid: "ReadParameters", actions: ["ssm:GetParameters"], resources: arns))
            policy.statements.append(.init(
                sid: "DecryptTheseSecureStringsThroughSSM", actions: ["kms:Decrypt"], resources: ["*"],
                conditions: [wildcard ? "StringLike" : "StringEquals": [
                    "kms:ViaService": [place.viaService("ssm")],
                    "kms:EncryptionContext:PARAMETER_ARN": arns,
                ]]))
            notes.append("kms:Decrypt is needed only for SecureString parameters under a customer managed KMS key; the conditions allow it only through SSM in \(place.region) and only for these parameters; narrow Resource to the key's ARN if you know it. The AWS managed key aws/ssm lets every principal of the account decrypt, so it cannot keep one function from another's SecureString: use a customer managed key for that")
        case .drift:
            policy.statements.append(.init(sid: "DescribeParameters", actions: ["ssm:DescribeParameters"], resources: ["*"]))
            policy.statements.append(.init(sid: "ParameterVersionsAndLabels", actions: ["ssm:GetParameterHistory"], resources: arns))
            notes.append("DescribeParameters takes no resource ARN (AWS authorizes it on \"*\" only); it returns names, versions and dates, never a value")
            notes.append("GetParameterHistory is the only way to see labels and older versions, and AWS returns each version's Value with it: the plain text of String and StringList parameters, the still encrypted SecureString values (this policy grants no kms:Decrypt; inject-secrets asks with WithDecryption=false and ignores Value). Keep secrets in SecureString parameters so that the drift role cannot read them")
        }
        if !approximate.isEmpty || !place.guessed.isEmpty {
            notes.append("approximate: not known from the lock: " + place.guessed.joined(separator: "; ") + "; render once and run 'policy' again for the exact ARNs")
        }
        let document = policy.json
        return AccessPolicy(document: document, text: document.pretty(), notes: notes, approximate: !approximate.isEmpty || !place.guessed.isEmpty)
    }
}

extension AWSParameterStore: AccessPolicyDescribing {
    package static func accessPolicy(_ request: AccessPolicyRequest, settings: Settings) throws -> AccessPolicy {
        ParameterStorePolicy.describe(request, settings: settings)
    }
}
