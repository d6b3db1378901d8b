import Foundation

/// The one mapping from an HTTP answer to `ProviderFailure.Kind`, for every store, token endpoint and
/// STS. The audit log records the kind (`error`), so the same event must read the same whichever store
/// answered it. The rule, by status (RFC 9110 §15.5.2, §15.5.4, §15.5.5, §15.6.4; RFC 6585 §4):
///
/// - 401: authentication failed: the credential is missing, invalid or expired;
/// - 403: access denied: authenticated, but not allowed;
/// - 404, 410: not found;
/// - 429 and 503: throttled: the server asks to be called again later;
/// - any other 5xx, and no answer at all: unreachable;
/// - anything else: an invalid response (an answer the tool cannot use).
///
/// A code the store documents decides before the status, because not every store says it with the
/// status: AWS answers most errors with 400 and names them by code, and answers `InvalidClientTokenId`
/// with 403 though it is a credential failure (Secrets Manager's CommonErrors page,
/// docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html, and botocore's error parser);
/// STS names its refusals by code too (botocore's sts/2011-06-15 service model); Vault has no codes but
/// fixed `errors` texts, and its 503 means sealed or standby, not busy (the Vault HTTP API overview,
/// developer.hashicorp.com/vault/api-docs); Key Vault's 403 `SecretDisabled` is a version that cannot be
/// read (learn.microsoft.com/azure/key-vault/general/rest-error-codes).
package enum StatusTable {
    /// What the request asked for, which decides what a 404 and other 4xx mean.
    package enum Subject: Sendable {
        /// A path that names the secret (Vault, Key Vault): a 404 is the secret's.
        case path
        /// One endpoint for every call (the AWS JSON protocol): the code names the error; a 404 with no
        /// code did not come from the service (moto answers ResourceNotFoundException with 404 where AWS uses 400).
        case endpoint
        /// A token (Entra, managed identity, STS, a Vault login): a 4xx other than 403 and 429 means no
        /// credential was given, which is an authentication failure whatever the status.
        case credential
    }

    /// The kind of a failed answer with `status` and the store's `codes` (the first one the table knows
    /// decides).
    package static func kind(status: Int, codes: [String?] = [], asking subject: Subject = .path) -> ProviderFailure.Kind {
        for code in codes {
            if let code, let kind = byCode[code] { return kind }
        }
        switch status {
        case 401: return .authentication
        case 403: return .accessDenied
        case 429, 503: return .throttled
        case 500...599: return .unreachable
        case 400...499 where subject == .credential: return .authentication
        case 404 where subject == .path, 410 where subject == .path: return .notFound
        default: return .invalidResponse
        }
    }

    /// The kind when no HTTP answer came back (refused, reset, timed out).
    package static let noAnswer: ProviderFailure.Kind = .unreachable

    /// The codes that decide before the status, each store's as its documents above name them.
    static let byCode: [String: ProviderFailure.Kind] = {
        var table: [String: ProviderFailure.Kind] = [:]
        func add(_ codes: Set<String>, _ kind: ProviderFailure.Kind) {
            for code in codes { table[code] = kind }
        }
        // AWS (§2): signature and credential codes come with 400 or 403; STS's IdP outage is transient.
        add(AWSErrorCodes.signature.union(AWSErrorCodes.credentials), .authentication)
        add(AWSErrorCodes.accessDenied, .accessDenied)
        add(AWSErrorCodes.throttling, .throttled)
        add(AWSErrorCodes.transient, .unreachable)
        add(AWSErrorCodes.notFound, .notFound)
        add(AWSErrorCodes.versionNotFound, .versionNotFound)
        // STS (§3): the web identity token was refused, with 400 and 403 alike.
        add(["InvalidIdentityToken", "IDPRejectedClaim"], .authentication)
        // Vault (§4): sealed or standby is a server that cannot answer, not one that asks for patience.
        add(["Vault is sealed"], .unreachable)
        // Key Vault (§5): a disabled version answers 403 with this inner code.
        add(["SecretDisabled"], .versionNotFound)
        return table
    }()
}
