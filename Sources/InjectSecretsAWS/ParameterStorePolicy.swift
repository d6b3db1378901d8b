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
        let place = AWSResourcePlace(settings: settings.aws, lockedARNs: lockedARNs)
        var approximate: [String] = []
        func arn(_ secret: PolicySecret) -> String {
            if let locator = secret.locked?.locator, locator.hasPrefix("arn:") { return locator }
            if secret.id.hasPrefix("arn:") { return secret.id }
            let name = secret.id.hasPrefix("/") ? String(secret.id.dropFirst()) : secret.id
            if !place.guessed.isEmpty { approximate.append(secret.name) }
            return "arn:\(place.partition):ssm:\(place.region):\(place.account):parameter/\(name)"
        }
        // For render, the parameters a function uses only through `${ref.*}` get metadata actions only.
        let valueSecrets = request.purpose == .render ? request.secrets.filter(\.valueRead) : request.secrets
        let referenced = request.purpose == .render ? request.secrets.filter { !$0.valueRead } : []
        let arns = Array(Set(valueSecrets.map(arn))).sorted()
        let referencedARNs = Array(Set(referenced.map(arn))).sorted()
        var policy = IAMPolicy()
        var notes: [String] = []
        func appendDecrypt() {
            policy.allowDecrypt(
                sid: "DecryptTheseSecureStringsThroughSSM", service: "ssm", contextKey: "kms:EncryptionContext:PARAMETER_ARN",
                arns: arns, place: place)
            notes.append("kms:Decrypt is needed only for SecureString parameters under a customer managed KMS key; the conditions allow it only through SSM in \(place.region) and only for these parameters; narrow Resource to the key's ARN if you know it. The AWS managed key aws/ssm lets every principal of the account decrypt, so it cannot keep one function from another's SecureString: use a customer managed key for that")
        }
        switch request.purpose {
        case .runtime:
            policy.statements.append(.init(sid: "ReadReferencedParameters", actions: ["ssm:GetParameter"], resources: arns))
            appendDecrypt()
            notes.append("for the function's own role: the AWS Parameters and Secrets Lambda Extension reads each ${ref.*} reference with GetParameter on its ARN")
        case .render:
            if !arns.isEmpty {
                policy.statements.append(.init(sid: "ReadParameters", actions: ["ssm:GetParameters"], resources: arns))
                appendDecrypt()
            }
            if !referencedARNs.isEmpty {
                policy.statements.append(.init(sid: "DescribeParameters", actions: ["ssm:DescribeParameters"], resources: ["*"]))
                policy.statements.append(.init(sid: "ReferencedParameterVersions", actions: ["ssm:GetParameterHistory"], resources: referencedARNs))
                notes.append("\(referenced.map(\.name).sorted().joined(separator: ", ")): used only through ${ref.*}, so render reads metadata only: DescribeParameters, and GetParameterHistory (for a label or a pinned version; it returns String values in plain text, SecureString ones still encrypted, and this grants no kms:Decrypt for them)")
            }
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
