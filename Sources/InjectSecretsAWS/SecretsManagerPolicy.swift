import Foundation
import InjectSecretsKit

/// The IAM policy an AWS Secrets Manager provider needs.
///
/// - render: `GetSecretValue` and `DescribeSecret` on the exact secret ARNs the lock records;
///   `BatchGetSecretValue` on `*` when a secret follows its current version (the provider reads those
///   in batches; AWS authorizes that action only on `*` and still checks `GetSecretValue` on each secret,
///   so `*` opens nothing more); `kms:Decrypt` only through Secrets Manager in this region and only for
///   these secrets (`kms:EncryptionContext:SecretARN`), which a customer managed key needs.
/// - drift: `DescribeSecret` and `ListSecretVersionIds` on the same ARNs, and `ListSecrets` (which AWS
///   authorizes only on `*`, and which lists names and metadata, never values). No value-reading action.
///
/// Without a lock entry a secret's ARN is not known: the policy names it by its name and the six-character
/// suffix wildcard `-??????` that AWS documents for this, and says it is approximate.
package enum SecretsManagerPolicy {
    /// Actions that return a secret value; a drift policy holds none of them.
    package static let valueActions: Set<String> = ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "kms:Decrypt"]

    package static func describe(_ request: AccessPolicyRequest, settings: AWSSecretsManagerStore.Settings) -> AccessPolicy {
        let place = place(request, settings: settings)
        // For render, the secrets a function uses only through `${ref.*}` get metadata actions only.
        let valueSecrets = request.purpose == .render ? request.secrets.filter(\.valueRead) : request.secrets
        let referenced = request.purpose == .render ? request.secrets.filter { !$0.valueRead } : []
        let (arns, approximateValues) = resources(valueSecrets, place: place)
        let (referencedARNs, approximateReferences) = resources(referenced, place: place)
        let approximate = approximateValues + approximateReferences
        var policy = IAMPolicy()
        var notes: [String] = []
        switch request.purpose {
        case .runtime:
            policy.statements.append(.init(sid: "ReadReferencedSecretValues", actions: ["secretsmanager:GetSecretValue"], resources: arns))
            appendDecrypt(to: &policy, notes: &notes, arns: arns, place: place)
            notes.append("for the function's own role: the AWS Parameters and Secrets Lambda Extension reads each ${ref.*} reference with GetSecretValue on its ARN")
        case .render:
            if !arns.isEmpty {
                policy.statements.append(.init(
                    sid: "ReadSecretValues", actions: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], resources: arns))
            }
            if !referencedARNs.isEmpty {
                policy.statements.append(.init(
                    sid: "ReadReferencedSecretMetadata", actions: ["secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
                    resources: referencedARNs))
                policy.statements.append(.init(sid: "ListSecretMetadata", actions: ["secretsmanager:ListSecrets"], resources: ["*"]))
                notes.append("\(referenced.map(\.name).sorted().joined(separator: ", ")): used only through ${ref.*}, so render reads metadata only (the version and the ARN), never the value")
            }
            if valueSecrets.contains(where: { $0.policy == .current }) {
                policy.statements.append(.init(sid: "BatchReadCurrentValues", actions: ["secretsmanager:BatchGetSecretValue"], resources: ["*"]))
                notes.append("BatchGetSecretValue takes no resource ARN (AWS authorizes it on \"*\" only); every secret in a batch still needs GetSecretValue, which this policy grants only on the ARNs above. Without that statement render still works: after one denied batch call it reads each secret with GetSecretValue")
            }
            if !arns.isEmpty { appendDecrypt(to: &policy, notes: &notes, arns: arns, place: place) }
        case .drift:
            policy.statements.append(.init(
                sid: "ReadSecretMetadata", actions: ["secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"], resources: arns))
            policy.statements.append(.init(sid: "ListSecretMetadata", actions: ["secretsmanager:ListSecrets"], resources: ["*"]))
            notes.append("ListSecrets takes no resource ARN (AWS authorizes it on \"*\" only); it returns names and metadata of the account's secrets, never a value")
        }
        notes += approximationNotes(approximate, place)
        let document = policy.json
        return AccessPolicy(document: document, text: document.pretty(), notes: notes, approximate: !approximate.isEmpty || !place.guessed.isEmpty)
    }

    static func approximationNotes(_ approximate: [String], _ place: AWSResourcePlace) -> [String] {
        var notes: [String] = []
        if !approximate.isEmpty {
            notes.append("approximate: the lock records no ARN for \(approximate.sorted().joined(separator: ", ")), so the policy names \(approximate.count == 1 ? "it" : "them") by name with the suffix wildcard -?????? (as AWS documents); run 'render' once (with broader access) and run 'policy' again for the exact ARNs")
        }
        if !place.guessed.isEmpty {
            notes.append("approximate: not known from the lock: " + place.guessed.joined(separator: "; "))
        }
        return notes
    }

    /// Where the request's secrets live: from the lock's ARNs, else the provider's settings.
    static func place(_ request: AccessPolicyRequest, settings: AWSSecretsManagerStore.Settings) -> AWSResourcePlace {
        let lockedARNs = request.secrets.compactMap { $0.locked?.locator }.filter { $0.hasPrefix("arn:") }
        return AWSResourcePlace(settings: settings.aws, lockedARNs: lockedARNs)
    }

    /// The secrets' ARNs (from the lock, else by name with AWS's suffix wildcard) and the secrets named
    /// approximately.
    static func resources(_ secrets: [PolicySecret], place: AWSResourcePlace) -> (arns: [String], approximate: [String]) {
        var arns: [String] = []
        var approximate: [String] = []
        for secret in secrets {
            if let locator = secret.locked?.locator, locator.hasPrefix("arn:") {
                arns.append(locator)
            } else if secret.id.hasPrefix("arn:"), let parts = AWSResourcePlace.parts(of: secret.id),
                parts.resource.hasPrefix("secret:")
            {
                // A full ARN ends in the random suffix; a partial one (no suffix) gets the wildcard.
                let name = String(parts.resource.dropFirst("secret:".count))
                let hasSuffix = name.count > 7 && name.dropLast(6).hasSuffix("-")
                arns.append(hasSuffix ? secret.id : secret.id + "-??????")
                if !hasSuffix { approximate.append(secret.name) }
            } else {
                arns.append("arn:\(place.partition):secretsmanager:\(place.region):\(place.account):secret:\(secret.id)-??????")
                approximate.append(secret.name)
            }
        }
        return (Array(Set(arns)).sorted(), approximate)
    }

    /// `rotate --due` on these secrets: `RotateSecret` (and the metadata it reads) for those the store
    /// rotates itself; for those with `rotation.generate`, the value read and `PutSecretValue` that
    /// `rotate --generate` makes.
    static func rotateDue(
        _ request: AccessPolicyRequest, generated: Set<String>, settings: AWSSecretsManagerStore.Settings
    ) -> AccessPolicy {
        var policy = IAMPolicy()
        var notes: [String] = []
        let place = place(request, settings: settings)
        func part(_ generatedPart: Bool) -> (arns: [String], approximate: [String]) {
            resources(request.secrets.filter { generated.contains($0.name) == generatedPart }, place: place)
        }
        let store = part(false), generator = part(true)
        if !store.arns.isEmpty {
            policy.statements.append(.init(
                sid: "RotateDueSecretsInTheStore",
                actions: ["secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds", "secretsmanager:RotateSecret"],
                resources: store.arns))
            notes.append("RotateSecret runs the secret's own rotation function (its Lambda needs its own role); secrets without rotation configured need 'rotation.generate' instead")
        }
        if !generator.arns.isEmpty {
            policy.statements.append(.init(
                sid: "RotateDueSecretsWithTheGenerator",
                actions: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds", "secretsmanager:PutSecretValue"],
                resources: generator.arns))
            notes.append("rotation.generate reads the current value (to keep a JSON secret's other fields) and writes the new one with PutSecretValue; a customer managed KMS key also needs kms:Decrypt and kms:GenerateDataKey through Secrets Manager")
        }
        policy.statements.append(.init(sid: "ListSecretMetadata", actions: ["secretsmanager:ListSecrets"], resources: ["*"]))
        let approximate = store.approximate + generator.approximate
        notes += approximationNotes(approximate, place)
        let document = policy.json
        return AccessPolicy(document: document, text: document.pretty(), notes: notes, approximate: !approximate.isEmpty || !place.guessed.isEmpty)
    }

    /// `kms:Decrypt` only through Secrets Manager in the region and only for `arns`, for render and runtime alike.
    static func appendDecrypt(to policy: inout IAMPolicy, notes: inout [String], arns: [String], place: AWSResourcePlace) {
        policy.allowDecrypt(
            sid: "DecryptTheseSecretsThroughSecretsManager", service: "secretsmanager", contextKey: "kms:EncryptionContext:SecretARN",
            arns: arns, place: place)
        notes.append("kms:Decrypt is needed only for secrets encrypted with a customer managed KMS key (aws/secretsmanager needs no grant); the conditions allow it only through Secrets Manager in \(place.region) and only for these secrets; narrow Resource to the key's ARN if you know it")
    }
}

extension AWSSecretsManagerStore: AccessPolicyDescribing, RotationAccessDescribing {
    package static func accessPolicy(_ request: AccessPolicyRequest, settings: Settings) throws -> AccessPolicy {
        SecretsManagerPolicy.describe(request, settings: settings)
    }

    package static func rotationAccessPolicy(
        _ request: AccessPolicyRequest, generated: Set<String>, settings: Settings
    ) throws -> AccessPolicy {
        SecretsManagerPolicy.rotateDue(request, generated: generated, settings: settings)
    }
}
