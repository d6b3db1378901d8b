import Foundation
import InjectSecretsKit

/// Key Vault's answer to a request without (or with a refused) token: a 401 whose `WWW-Authenticate`
/// names the Entra tenant and the token's audience, e.g.
/// `Bearer authorization="https://login.microsoftonline.com/{tenant}", resource="https://vault.azure.net"`.
/// The Azure SDKs discover tenant and scope this way rather than asking for them; so do we.
struct BearerChallenge: Sendable, Hashable {
    /// `authorization` or `authorization_uri`.
    var authority: String
    /// The first path segment of the authority; nil when there is none.
    var tenantID: String?
    /// `scope`, else `resource` + `/.default`.
    var scope: String
    /// Base64 `claims` of a Continuous Access Evaluation challenge, when present.
    var claims: String?

    init?(header: String) {
        let parameters = Self.parameters(ofBearerIn: header)
        guard let authority = parameters["authorization"] ?? parameters["authorization_uri"] else { return nil }
        var scope = parameters["scope"] ?? ""
        if scope.isEmpty, var resource = parameters["resource"], !resource.isEmpty {
            while resource.hasSuffix("/") { resource.removeLast() }
            scope = resource + "/.default"
        }
        guard !scope.isEmpty else { return nil }
        self.authority = authority
        self.scope = scope
        self.claims = parameters["claims"]
        let path = URLComponents(string: authority)?.path ?? ""
        let first = path.split(separator: "/").first.map(String.init)
        self.tenantID = (first?.isEmpty ?? true) ? nil : first
    }

    /// The host the token's audience names (`vault.azure.net` for `https://vault.azure.net/.default`).
    var resourceHost: String? {
        URLComponents(string: scope)?.host?.lowercased()
    }

    /// Refuses a challenge that would send a token for another audience: the vault's host must end with
    /// `.` + the resource's host (`myvault.vault.azure.net` for `vault.azure.net`), as the SDKs check, so a
    /// spoofed or redirected vault cannot collect a token for a real one. Skipped only for a loopback
    /// vault (the tests' stand-in); returns the reason for refusing, nil when fine.
    func mismatch(vaultHost rawHost: String) -> String? {
        if EndpointPolicy.isLoopback(host: rawHost) { return nil }
        guard let resource = resourceHost, !resource.isEmpty else {
            return "its challenge names no valid resource or scope ('\(scope)')"
        }
        let host = rawHost.lowercased()
        if host.hasSuffix("." + resource) { return nil }
        return "its challenge asks for a token for '\(resource)', which is not the vault's domain ('\(host)'); refusing to send a token (set vault-url to the vault's own https://NAME.vault.azure.net address)"
    }

    /// The `key="value"` (or `key=token`) parameters of the Bearer scheme in a `WWW-Authenticate` value,
    /// which may hold several schemes (`Bearer ..., PoP ...`). Keys are lowercased; the first wins.
    static func parameters(ofBearerIn header: String) -> [String: String] {
        var result: [String: String] = [:]
        var scheme = ""
        let characters = Array(header)
        var index = 0
        func skip(_ set: Set<Character>) {
            while index < characters.count, set.contains(characters[index]) { index += 1 }
        }
        while index < characters.count {
            skip([" ", "\t", ","])
            guard index < characters.count else { break }
            let start = index
            while index < characters.count, !" \t,=".contains(characters[index]) { index += 1 }
            let word = String(characters[start..<index])
            skip([" ", "\t"])
            if index < characters.count, characters[index] == "=" {
                index += 1
                skip([" ", "\t"])
                var value = ""
                if index < characters.count, characters[index] == "\"" {
                    index += 1
                    while index < characters.count, characters[index] != "\"" {
                        if characters[index] == "\\", index + 1 < characters.count { index += 1 }
                        value.append(characters[index])
                        index += 1
                    }
                    index += 1
                } else {
                    let valueStart = index
                    while index < characters.count, !" \t,".contains(characters[index]) { index += 1 }
                    value = String(characters[valueStart..<index])
                    // token68 padding ("abc==") is part of the value
                }
                if scheme == "bearer", result[word.lowercased()] == nil { result[word.lowercased()] = value }
            } else if !word.isEmpty {
                scheme = word.lowercased()
            }
        }
        return result
    }
}

/// The challenge of each vault seen in this run, so only the first request to a vault goes without a
/// token; replaced when a later 401 brings a new one.
actor ChallengeCache {
    private var challenges: [String: BearerChallenge] = [:]

    func challenge(for vault: String) -> BearerChallenge? { challenges[vault] }

    func store(_ challenge: BearerChallenge, for vault: String) { challenges[vault] = challenge }
}
