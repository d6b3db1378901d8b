import Foundation

/// A value that holds a secret (a secret value, a token, a key) and so prints, dumps and reflects only
/// as `redactedDescription`: no message, log line or test failure can carry it by accident. The one
/// home of that rule; the secret is read only through the conforming type's own field, where a request
/// is built or a value rendered.
package protocol PrintsRedacted: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// What may be shown: `<redacted>`, or the parts that are no secret (`AWSCredentials(AKID..., <redacted>)`).
    var redactedDescription: String { get }
    /// What `dump` and a debugger may show: nothing, unless the type names parts that are no secret.
    var visibleFields: KeyValuePairs<String, Any> { get }
}

extension PrintsRedacted {
    package var redactedDescription: String { RunRedactor.replacement }
    package var visibleFields: KeyValuePairs<String, Any> { [:] }
    package var description: String { redactedDescription }
    package var debugDescription: String { redactedDescription }
    package var customMirror: Mirror { Mirror(self, children: visibleFields) }
}

/// A token, client secret or identity header, as a credential or store reads it.
package struct CredentialText: Sendable, PrintsRedacted {
    package let text: String
    package init(_ text: String) { self.text = text }
}
