import Foundation
import InjectSecretsKit

/// The file store's access is the file system's: read access to one file. It cannot be narrowed to some
/// secrets (whoever can read the file can read every secret in it) nor to metadata (drift reads the same
/// file), and the policy says so.
extension FileStore: AccessPolicyDescribing {
    package static func accessPolicy(_ request: AccessPolicyRequest, settings: Settings) throws -> AccessPolicy {
        let path = settings.displayPath, url = settings.url
        let ids = request.secrets.map(\.id)
        let document: JSONValue = .object([
            "access": .string("read"),
            "file": .string(path),
            "absolutePath": .string(url.path),
            "secrets": .array(ids.map(JSONValue.string)),
        ])
        var notes = [
            "the file store is one file: read access to \(path) reads every secret in it, not only \(ids.count == 1 ? "this one" : "these \(ids.count)"); keep secrets that must stay apart in separate store files with their own owners and modes (0600 or 0640 with a group)",
        ]
        if request.purpose == .drift {
            notes.append("drift reads the same file: a file store has no metadata-only access, so this drift access also reads values")
        }
        let text = "read access to \(path) (\(url.path)) for secret\(ids.count == 1 ? "" : "s") \(ids.joined(separator: ", "))"
        return AccessPolicy(document: document, text: text, notes: notes)
    }
}
