import Foundation

/// Which certificate authorities an HTTPS connection trusts: the system's, or a private CA bundle
/// (a PEM file) or folder of hashed certificates that replaces them, as VAULT_CACERT, AWS_CA_BUNDLE and
/// REQUESTS_CA_BUNDLE do for the tools they come from. Verification itself is never turned off: there
/// is no setting for it.
package struct TLSTrust: Sendable, Equatable {
    package var caFile: String?
    package var caPath: String?
    /// Where the bundle was configured ("VAULT_CACERT", "ca-file of provider 'vault'"), for messages.
    package var origin: String?

    package static let system = TLSTrust()

    package init(caFile: String? = nil, caPath: String? = nil, origin: String? = nil) {
        self.caFile = caFile
        self.caPath = caPath
        self.origin = origin
    }

    /// For an untrusted certificate: what the connection trusted.
    var trustedDescription: String {
        guard let origin else { return "the system's certificate authorities" }
        return "the CA bundle from \(origin)"
    }

    /// Why the file or folder cannot serve as a CA bundle, or nil when it can.
    package static func problem(withFile path: String, folder: Bool = false) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return "'\(path)' does not exist"
        }
        if isDirectory.boolValue != folder {
            return folder ? "'\(path)' is not a folder" : "'\(path)' is a folder, not a CA file"
        }
        guard FileManager.default.isReadableFile(atPath: path) else { return "'\(path)' cannot be read" }
        return nil
    }

    /// A CA bundle named by an environment variable (`fileVariables` first, then `folderVariables`),
    /// checked to exist and be readable; the error names the variable and is placed at `location` (the
    /// provider declaration that reads it).
    package static func fromEnvironment(
        _ environment: [String: String], fileVariables: [String], folderVariables: [String] = [],
        at location: SourceLocation? = nil
    ) throws -> TLSTrust {
        for (names, folder) in [(fileVariables, false), (folderVariables, true)] {
            for name in names {
                guard let path = environment[name], !path.isEmpty else { continue }
                if let problem = problem(withFile: path, folder: folder) {
                    throw InjectSecretsError.badInput("\(name): the CA \(folder ? "folder" : "bundle") \(problem)", at: location)
                }
                return folder ? TLSTrust(caPath: path, origin: name) : TLSTrust(caFile: path, origin: name)
            }
        }
        return .system
    }
}

extension ProviderSettings {
    /// A CA bundle setting (`ca-file:`), relative to the manifest's folder; a missing or unreadable file
    /// is an error at the setting. Nil when the setting is absent.
    package func caBundle(_ key: String) throws -> TLSTrust? {
        guard let url = try path(key) else { return nil }
        if let problem = TLSTrust.problem(withFile: url.path) {
            throw InjectSecretsError.badInput(
                "'\(key)' of provider '\(declaration.name)': the CA bundle \(problem)", at: location(of: key))
        }
        return TLSTrust(caFile: url.path, origin: "'\(key)' of provider '\(declaration.name)'")
    }
}
