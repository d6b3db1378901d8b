/// A store that can rotate a secret itself, making the new value with its own rotation function
/// (Secrets Manager's `RotateSecret`). Optional, like `SecretWriting`: `rotate` without a value and
/// `rotate --due` without `rotation.generate` use it where the secret is configured for it.
package protocol SelfRotating: SecretProvider {
    /// Whether the store has a rotation configured for this secret (Secrets Manager: `RotationEnabled`
    /// in DescribeSecret). Metadata only.
    func rotatesItself(_ reference: SecretReference) async throws -> Bool
    /// The version the `current` policy selects now. Metadata only.
    func currentVersion(_ reference: SecretReference) async throws -> String?
    /// Starts the store's rotation and returns the id of the version it is making. The value is made and
    /// stored by the store; none passes through this tool.
    func startRotation(_ reference: SecretReference) async throws -> String
}
