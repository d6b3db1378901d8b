/// A store that `rotate` can write to. Optional: a provider that does not conform is read-only, and
/// `rotate` says so before anything is read.
package protocol SecretWriting: SecretProvider {
    /// Writes `value` as a new version of `reference.id` and makes it the version that the `current`
    /// policy selects. `expectedCurrent` is the version the caller read as current; a store with
    /// check-and-set (Vault's `cas`, the file store) refuses the write when another writer moved it since.
    /// A JSON-object value comes as its JSON text; a store that keeps objects natively (Vault, a mapping
    /// in the file store) stores it as one. Returns the new version's id as the lock would record it.
    /// Throws `ProviderFailure`; no message holds the value.
    func write(_ reference: SecretReference, value: SecretValue, expectedCurrent: String?) async throws -> String
}
