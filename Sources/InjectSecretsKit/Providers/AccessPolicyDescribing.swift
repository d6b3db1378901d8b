import Foundation

/// What an access policy is for.
package enum AccessPurpose: String, Sendable, Hashable {
    /// Reading the values one function's outputs need (`render`, `render --locked`).
    case render
    /// Reading only the metadata `drift` (and `render --dry-run`) need: no value.
    case drift
    /// What a function's own role needs at run time to resolve its `${ref.*}` references: the value of
    /// exactly the referenced secrets.
    case runtime
}

/// One secret a policy must cover, with what the lock knows of it.
package struct PolicySecret: Sendable, Equatable {
    /// The manifest's name for the secret.
    package var name: String
    /// The id in the store, templates expanded.
    package var id: String
    package var policy: VersionPolicy
    /// The lock's entry when it records this declaration; nil when the lock lacks it (then only an
    /// approximate policy can be given for stores whose names the lock completes, such as AWS ARNs).
    package var locked: LockedSecret?
    /// The secret's declaration in the manifest, for errors.
    package var location: SourceLocation?
    /// For `render`: whether the function renders the value; false when it uses the secret only through
    /// `${ref.*}`, for which render reads metadata only.
    package var valueRead: Bool

    package init(
        name: String, id: String, policy: VersionPolicy, locked: LockedSecret?, location: SourceLocation? = nil,
        valueRead: Bool = true
    ) {
        self.name = name
        self.id = id
        self.policy = policy
        self.locked = locked
        self.location = location
        self.valueRead = valueRead
    }
}

/// What a store is asked to describe: one provider, the secrets, the purpose.
package struct AccessPolicyRequest: Sendable {
    package var declaration: ProviderDeclaration
    /// Sorted by id, each id once.
    package var secrets: [PolicySecret]
    package var purpose: AccessPurpose
    /// The function this policy is for (render), nil for drift.
    package var function: String?

    package init(declaration: ProviderDeclaration, secrets: [PolicySecret], purpose: AccessPurpose, function: String?) {
        self.declaration = declaration
        self.secrets = secrets
        self.purpose = purpose
        self.function = function
    }
}

/// A store's access policy in its own terms: an IAM policy document, Vault policy HCL, Azure role
/// assignments, a file's read access.
package struct AccessPolicy: Sendable {
    /// The policy as JSON: an IAM document, a string of HCL, a list of role assignments, ...
    package var document: JSONValue
    /// The same for people; for Vault the HCL itself, for IAM the pretty JSON.
    package var text: String
    /// Explanations: what is approximate and why, what a condition limits, what cannot be limited.
    package var notes: [String]
    /// True when part of the policy had to be guessed (no lock entry to name the exact resource).
    package var approximate: Bool

    package init(document: JSONValue, text: String, notes: [String] = [], approximate: Bool = false) {
        self.document = document
        self.text = text
        self.notes = notes
        self.approximate = approximate
    }
}

/// A kind of store that can say which access its provider needs, and nothing more. Each store describes
/// its own policy (in its own folder); the engine only groups secrets by function and provider.
package protocol AccessPolicyDescribing: SecretProviderKind {
    /// The least access that lets `request.purpose` succeed for exactly `request.secrets`, for the
    /// provider of `settings` (the same values `make` gets). Contacts nothing. Throws bad input (with a
    /// place) when a secret id cannot be expressed safely.
    static func accessPolicy(_ request: AccessPolicyRequest, settings: Settings) throws -> AccessPolicy
}

extension AccessPolicyDescribing {
    /// The policy for the request's declaration, its settings read once.
    package static func accessPolicy(_ request: AccessPolicyRequest) throws -> AccessPolicy {
        try accessPolicy(request, settings: checkedSettings(request.declaration))
    }
}

/// A store whose secrets `rotate --due` can rotate (Secrets Manager's `RotateSecret`), and which can say
/// the access that takes. Optional: other stores' rotation is their write access.
package protocol RotationAccessDescribing: SecretProviderKind {
    /// The access `rotate --due` needs for `request.secrets` (those with a rotation policy); `generated`
    /// names the ones with `rotation.generate`.
    static func rotationAccessPolicy(
        _ request: AccessPolicyRequest, generated: Set<String>, settings: Settings
    ) throws -> AccessPolicy
}

extension RotationAccessDescribing {
    /// The rotation access for the request's declaration, its settings read once.
    package static func rotationAccessPolicy(_ request: AccessPolicyRequest, generated: Set<String>) throws -> AccessPolicy {
        try rotationAccessPolicy(request, generated: generated, settings: checkedSettings(request.declaration))
    }
}
