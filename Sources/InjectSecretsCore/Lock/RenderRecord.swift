import Foundation
import InjectSecretsKit

/// What `render` wrote, kept beside the outputs (not in the committed lock) so that `drift` can tell an
/// output that is missing, edited, or rendered from other versions. It holds versions, a digest of the
/// function's templates (the manifest text, never a value) and the file's identity (device, inode and
/// modification time): nothing from which a value could be recovered or guessed offline.
package struct RenderRecord: Sendable, Equatable {
    package static let fileName = ".inject-secrets-state.json"

    package struct Output: Sendable, Equatable {
        package var function: String
        package var format: String
        /// The environment it was rendered for; empty for none.
        package var environment: String
        /// Secret name -> version it was rendered from.
        package var versions: [String: String]
        /// Digest of the function's variable templates and the output's format.
        package var definition: String
        /// device:inode:mtime at the time of writing.
        package var fileIdentity: String
    }

    /// Keyed by the output's path relative to the manifest's folder.
    package var outputs: [String: Output] = [:]

    package init() {}

    /// The record; nil when there is none or it is not one (drift then reports every output as not
    /// written by render). Anything but a regular file within the size limit is an error.
    package static func read(at url: URL, displayPath: String) throws -> RenderRecord? {
        let data: Data?
        do {
            data = try BoundedFile.read(url.path, followLink: false)
        } catch let error as FilesystemError {
            throw InjectSecretsError.badInput("cannot read the render record: \(error.naming(displayPath))")
        }
        guard let data, let json = try? JSONValue.parse(data), let outputs = json["outputs"]?.object else {
            return nil
        }
        var record = RenderRecord()
        for (path, value) in outputs {
            guard let function = value["function"]?.string, let format = value["format"]?.string,
                let definition = value["definition"]?.string, let identity = value["file"]?.string
            else { continue }
            var versions: [String: String] = [:]
            for (name, version) in value["versions"]?.object ?? [:] { versions[name] = version.string ?? "" }
            record.outputs[path] = Output(
                function: function, format: format, environment: value["environment"]?.string ?? "", versions: versions,
                definition: definition, fileIdentity: identity)
        }
        return record
    }

    package func encoded() -> Data {
        let outputs = self.outputs.mapValues { output -> JSONValue in
            .object([
                "function": .string(output.function), "format": .string(output.format),
                "environment": .string(output.environment), "versions": .object(output.versions.mapValues(JSONValue.string)),
                "definition": .string(output.definition), "file": .string(output.fileIdentity),
            ])
        }
        return Data(JSONValue.object(["outputs": .object(outputs), "record-version": .number("1")]).pretty().utf8)
    }

    /// The identity of a file as it is now, or nil when it does not exist.
    package static func fileIdentity(of url: URL) -> String? {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { return nil }
        return fileIdentity(info)
    }

    /// Device, inode and modification time. Not the change time: a commit that is undone puts the old
    /// file back by a link and a rename, which keep its inode and modification time but move its change
    /// time, and the render record put back with it must still match it.
    static func fileIdentity(_ info: stat) -> String {
        #if canImport(Darwin)
        let modified = info.st_mtimespec
        #else
        let modified = info.st_mtim
        #endif
        return "\(info.st_dev):\(info.st_ino):\(modified.tv_sec).\(modified.tv_nsec)"
    }

    /// Whether a recorded identity is the file's now; records written before the change time was left
    /// out carry it as a fourth field, which is ignored.
    static func isSameFile(recorded: String, now: String) -> Bool {
        recorded.split(separator: ":").prefix(3) == now.split(separator: ":").prefix(3)
    }

    /// A digest of what a function's output is made from, without any value: its templates and format.
    package static func definitionDigest(_ function: FunctionDefinition, format: OutputFormat) -> String {
        var text = "format=\(format.rawValue)\n"
        for variable in function.variables {
            text += "\(variable.key)=\(variable.template.source.unicodeScalars.count):\(variable.template.source)\n"
        }
        return SHA256.hash(Data(text.utf8)).lowercaseHex
    }
}

/// Writes a small file that is not part of a render's commit (the file store, by `rotate`) through a
/// temporary file and a rename in its folder, so a reader never sees half of it; skips the write when
/// the bytes are the same.
enum AtomicFile {
    static func write(_ data: Data, to url: URL, mode: mode_t) throws {
        if let existing = try? BoundedFile.read(url.path, followLink: false), existing == data { return }
        do {
            let folder = try DirectoryHandle.open(url.deletingLastPathComponent().path)
            try folder.replaceFile(
                url.lastPathComponent, data: data, mode: mode,
                temporary: CommitJournal.temporaryName(for: url.lastPathComponent, kind: "new"))
        } catch let error as FilesystemError {
            throw InjectSecretsError.badInput("cannot write \(error)")
        }
    }
}
