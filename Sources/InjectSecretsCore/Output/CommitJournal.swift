import Foundation
import InjectSecretsKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `.inject-secrets-commit` beside the manifest: what a commit (`OutputWriter`) is about to create and
/// rename, written and synced before any of it, rewritten at each stage. It names files and folders
/// only, never content. While it exists, a commit is in progress or was interrupted; the next run that
/// holds the run lock (`RunLock`) finds it and:
///
/// - `preparing`: nothing was renamed yet: removes the temporary files, backups and created folders;
/// - `renaming`: some targets may be new: puts every old file back from its backup (a target that did not
///   exist is removed), then cleans up as above, so outputs, lock and render record are all old again;
/// - `committed`: every file is new and durable: removes the backups.
///
/// Temporary files are `.NAME.inject-secrets-new-RANDOM` and backups `.NAME.inject-secrets-old-RANDOM`,
/// each in its target's folder.
struct CommitJournal: Equatable {
    static let fileName = ".inject-secrets-commit"
    static let temporaryFileName = ".inject-secrets-commit.tmp"
    static let formatVersion = 1

    enum State: String { case preparing, renaming, committed }

    struct Folder: Equatable {
        /// Components from the manifest's folder, or from `/` when `absolute`.
        var folder: [String]
        var absolute: Bool
    }

    struct Entry: Equatable {
        var folder: [String]
        var absolute: Bool
        var name: String
        var temporary: String
        /// The old file's second name; nil when the target did not exist.
        var backup: String?
    }

    var state = State.preparing
    var entries: [Entry]
    /// Folders the commit may create, outermost first.
    var folders: [Folder]

    init(state: State = .preparing, entries: [Entry], folders: [Folder]) {
        self.state = state
        self.entries = entries
        self.folders = folders
    }

    static func temporaryName(for name: String, kind: String) -> String {
        let random = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        return ".\(name).inject-secrets-\(kind)-\(random)"
    }

    // MARK: Stages

    mutating func save(_ state: State, in root: DirectoryHandle) throws {
        self.state = state
        do {
            try root.replaceFile(Self.fileName, data: encoded(), mode: 0o600, temporary: Self.temporaryFileName)
        } catch let error as FilesystemError {
            throw InjectSecretsError.badInput("cannot write the commit journal \(error); nothing was changed")
        }
    }

    /// The commit is complete: the backups and the journal go.
    func finish(in root: DirectoryHandle) {
        for entry in entries {
            guard let directory = folder(entry.folder, absolute: entry.absolute, root: root) else { continue }
            directory.remove(entry.temporary)
            if let backup = entry.backup { directory.remove(backup) }
        }
        root.remove(Self.fileName)
        root.sync()
    }

    /// Undoes what the journal's state allows (everything before `committed`) and removes the journal.
    func rollBack(in root: DirectoryHandle) {
        guard state != .committed else { return finish(in: root) }
        var synced: Set<String> = []
        for entry in entries {
            guard let directory = folder(entry.folder, absolute: entry.absolute, root: root) else { continue }
            let temporaryExists = (try? directory.info(entry.temporary)) != nil
            directory.remove(entry.temporary)
            if state == .renaming {
                if let backup = entry.backup {
                    // Same inode when the rename had not happened: rename then succeeds doing nothing.
                    if (try? directory.info(backup)) != nil, directory.rename(backup, to: entry.name) {
                        directory.remove(backup)
                    }
                } else if !temporaryExists {
                    directory.remove(entry.name)
                }
            } else if let backup = entry.backup {
                directory.remove(backup)
            }
            if synced.insert(directory.path).inserted { directory.sync() }
        }
        for planned in folders.reversed() {
            guard let name = planned.folder.last,
                let parent = folder(Array(planned.folder.dropLast()), absolute: planned.absolute, root: root) else { continue }
            if parent.removeDirectory(name) { parent.sync() }
        }
        root.remove(Self.fileName)
        root.sync()
    }

    private func folder(_ components: [String], absolute: Bool, root: DirectoryHandle) -> DirectoryHandle? {
        let start = absolute ? try? DirectoryHandle.open("/") : root
        return try? start?.walk(components, create: false)
    }

    // MARK: Recovery

    /// Finishes or undoes a commit an earlier run left (killed, or the machine stopped). Call it holding
    /// the run lock, before reading the lock or the render record. Returns a note for the user, or nil
    /// when there was nothing to recover.
    static func recover(in root: DirectoryHandle, displayFolder: String) throws -> String? {
        let place = displayFolder.isEmpty ? fileName : displayFolder + "/" + fileName
        let data: Data
        do {
            guard (try root.info(fileName)) != nil else {
                root.remove(temporaryFileName)
                return nil
            }
            let fd = try root.openForReading(fileName)
            defer { close(fd) }
            data = try BoundedFile.read(descriptor: fd, path: place)
        } catch let error as FilesystemError {
            throw InjectSecretsError.badInput("cannot read the commit journal \(error)")
        }
        guard let journal = decode(data) else {
            throw InjectSecretsError.badInput(
                "the commit journal \(place) is damaged; check the outputs, the lock and the render record, then delete it and run render")
        }
        root.remove(temporaryFileName)
        journal.rollBack(in: root)
        switch journal.state {
        case .preparing, .renaming:
            return "a previous run was interrupted while writing its files (\(place) was left); its changes were undone: \(journal.entries.count) file(s) are as they were before it, and its temporary files are removed"
        case .committed:
            return "a previous run was interrupted after writing its files (\(place) was left); its leftover backups are removed"
        }
    }

    // MARK: Encoding

    func encoded() -> Data {
        func folderJSON(_ components: [String], _ absolute: Bool) -> JSONValue {
            .string((absolute ? "/" : "") + components.joined(separator: "/"))
        }
        let top: [String: JSONValue] = [
            "journal-version": .number(String(Self.formatVersion)),
            "state": .string(state.rawValue),
            "entries": .array(entries.map { entry in
                var members: [String: JSONValue] = [
                    "folder": folderJSON(entry.folder, entry.absolute), "name": .string(entry.name),
                    "new": .string(entry.temporary),
                ]
                if let backup = entry.backup { members["old"] = .string(backup) }
                return .object(members)
            }),
            "folders": .array(folders.map { folderJSON($0.folder, $0.absolute) }),
        ]
        return Data(JSONValue.object(top).pretty().utf8)
    }

    static func decode(_ data: Data) -> CommitJournal? {
        guard let json = try? JSONValue.parse(data), let top = json.object,
            top["journal-version"] == .number(String(formatVersion)),
            let state = top["state"]?.string.flatMap(State.init(rawValue:)),
            let entryValues = top["entries"]?.array, let folderValues = top["folders"]?.array
        else { return nil }
        func folder(_ text: String) -> ([String], Bool)? {
            let components = text.split(separator: "/").map(String.init)
            guard !components.contains(".."), !components.contains(".") else { return nil }
            return (components, text.hasPrefix("/"))
        }
        // Only names this tool makes: a journal cannot make recovery touch anything else.
        func ours(_ name: String, _ target: String, _ kind: String) -> Bool {
            name.hasPrefix(".\(target).inject-secrets-\(kind)-") && !name.contains("/")
        }
        var entries: [Entry] = []
        for value in entryValues {
            guard let object = value.object, let place = object["folder"]?.string.flatMap(folder),
                let name = object["name"]?.string, !name.contains("/"), name != "..", !name.isEmpty,
                let temporary = object["new"]?.string, ours(temporary, name, "new")
            else { return nil }
            let backup = object["old"]?.string
            if let backup, !ours(backup, name, "old") { return nil }
            entries.append(Entry(folder: place.0, absolute: place.1, name: name, temporary: temporary, backup: backup))
        }
        var folders: [Folder] = []
        for value in folderValues {
            guard let text = value.string, let place = folder(text), !place.0.isEmpty else { return nil }
            folders.append(Folder(folder: place.0, absolute: place.1))
        }
        return CommitJournal(state: state, entries: entries, folders: folders)
    }
}
