import Foundation
import InjectSecretsKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One file to write: where, its complete bytes, and its mode.
package struct PendingFile: Sendable, Hashable {
    package var url: URL
    package var data: Data
    package var mode: mode_t

    package init(url: URL, data: Data, mode: mode_t = 0o600) {
        self.url = url
        self.data = data
        self.mode = mode
    }
}

/// What happened to one target.
package enum WriteOutcome: String, Sendable, Hashable {
    /// The bytes changed (or the file is new) and the file was replaced.
    case written
    /// The file already held exactly these bytes and was left alone.
    case unchanged
}

/// Writes a run's files (outputs, then the lock and the render record) all or nothing.
///
/// 1. Checks every target: a symbolic link, a directory or anything that is not a regular file at a
///    target path is refused. Files whose bytes are already right are skipped.
/// 2. Writes the commit journal (`CommitJournal`) naming every temporary file, backup and folder the
///    commit may create, before creating any of them.
/// 3. Creates missing folders (0700), writes every changed file to a temporary file in its target's
///    folder (`O_CREAT | O_EXCL | O_NOFOLLOW`, its mode from creation, `fsync`ed) and keeps each old file
///    under a second name (a hard link).
/// 4. Renames the outputs into place, then computes and renames the late files (the render record holds
///    the outputs' identities, known only now) and the lock.
/// 5. Marks the journal committed, removes the backups and the journal.
///
/// Every folder is reached by `DirectoryHandle.walk` from the manifest's folder, one component at a time
/// without following links, so swapping a folder for a link at any moment makes the write fail instead
/// of leaving the manifest's folder. With `allowOutside` (`--allow-outside-output-paths`) the walk starts
/// at `/` along the real path of each target's folder as it is at the check.
///
/// A failure, or an interruption before the renames start, puts every target back and removes everything
/// the commit created. An interruption once the renames have started lets the commit finish. A crash at
/// any moment leaves the journal, from which the next run (`CommitJournal.recover`) rolls back or finishes.
package enum OutputWriter {
    /// The files whose bytes are computed after the outputs are in place, given a way to look up the
    /// identity (`RenderRecord.fileIdentity`) of a target as written.
    package typealias LateFiles = (targets: [(url: URL, mode: mode_t)], compute: ((URL) -> String?) -> [URL: Data])

    @discardableResult
    package static func write(
        _ files: [PendingFile], root: URL, allowOutside: Bool = false, late: LateFiles? = nil,
        interruption: Interruption? = nil
    ) throws -> [URL: WriteOutcome] {
        let rootHandle = try open(root)
        return try write(files, root: rootHandle, allowOutside: allowOutside, late: late, interruption: interruption)
    }

    static func open(_ root: URL) throws -> DirectoryHandle {
        do {
            return try DirectoryHandle.open(root.standardizedFileURL.path)
        } catch let error as FilesystemError {
            throw InjectSecretsError.badInput("cannot open the manifest's folder \(error)")
        }
    }

    /// The same, with the rename step replaceable so tests can make it fail part way.
    static func write(
        _ files: [PendingFile], root: DirectoryHandle, allowOutside: Bool, late: LateFiles? = nil,
        interruption: Interruption? = nil,
        rename renameFile: (DirectoryHandle, String, String) -> Bool = { $0.rename($1, to: $2) }
    ) throws -> [URL: WriteOutcome] {
        var locator = Locator(root: root, allowOutside: allowOutside)
        var problems = DiagnosticCollector()
        var seen: Set<String> = []
        var entries: [Entry] = []
        func plan(_ url: URL, data: Data?, mode: mode_t) {
            let path = url.standardizedFileURL.path
            guard url.isFileURL, !path.isEmpty, path != "/" else {
                problems.error("cannot write '\(url.absoluteString)': not a file path", at: nil)
                return
            }
            guard seen.insert(path).inserted else {
                problems.error("two outputs would write the same file \(path)", at: nil)
                return
            }
            do {
                entries.append(try locator.plan(url, path: path, data: data, mode: mode))
            } catch let error as FilesystemError {
                problems.error("cannot write \(path): \(error.description.hasPrefix(path) ? String(error.description.dropFirst(path.count + 2)) : error.description)", at: nil)
            } catch {
                problems.error("cannot write \(path): \(error)", at: nil)
            }
        }
        // 1. Check every target before touching anything.
        for file in files { plan(file.url, data: file.data, mode: file.mode) }
        let outputCount = entries.count
        for target in late?.targets ?? [] { plan(target.url, data: nil, mode: target.mode) }
        try problems.throwIfErrors()

        // Nothing to rename first: the late files can be computed now and skipped when unchanged.
        if let late, !entries[..<outputCount].contains(where: { $0.existing != .same }) {
            let computed = late.compute(Locator.identities(of: entries))
            for index in outputCount..<entries.count { entries[index].setData(computed[entries[index].url] ?? Data()) }
        }
        var outcomes: [URL: WriteOutcome] = [:]
        for entry in entries where entry.data != nil { outcomes[entry.url] = entry.existing == .same ? .unchanged : .written }
        let changing = entries.indices.filter { entries[$0].existing != .same }
        if changing.isEmpty {
            for entry in entries { entry.tightenMode() }
            return outcomes
        }

        // 2. The journal first: whatever happens next, the next run knows what to clean up.
        var journal = CommitJournal(entries: changing.map { entries[$0].record }, folders: locator.plannedFolders)
        try journal.save(.preparing, in: root)
        func rollBack(_ state: CommitJournal.State, because error: Error) -> Error {
            journal.state = state
            journal.rollBack(in: root)
            return error
        }

        // 3. Folders, temporary files, backups.
        do {
            for index in changing {
                try locator.prepareFolder(of: &entries[index])
                if let data = entries[index].data {
                    try entries[index].directory!.createFile(entries[index].temporary, data: data, mode: entries[index].mode)
                }
                try entries[index].keepOldFile()
                if let signal = interruption?.signal { throw Interruption.Stopped(signal: signal) }
            }
            for folder in Set(changing.map { entries[$0].directory!.path }) {
                entries.first { $0.directory?.path == folder }?.directory?.sync()
            }
            try journal.save(.renaming, in: root)
        } catch let stopped as Interruption.Stopped {
            throw rollBack(.preparing, because: stopped)
        } catch let error as FilesystemError {
            throw rollBack(.preparing, because: InjectSecretsError.badInput("cannot write \(error); nothing was changed"))
        } catch {
            throw rollBack(.preparing, because: error)
        }

        // 4. Renames: from here the commit runs to its end (or is rolled back on failure), signals or not.
        func renameIntoPlace(_ index: Int) throws {
            let entry = entries[index]
            guard renameFile(entry.directory!, entry.temporary, entry.name) else {
                let reason = systemReason()
                throw rollBack(.renaming, because: InjectSecretsError.badInput("cannot write \(entry.path): \(reason); no file was changed"))
            }
        }
        for index in changing where index < outputCount { try renameIntoPlace(index) }
        if let late, outputCount < entries.count, entries[outputCount].data == nil {
            let computed = late.compute(Locator.identities(of: entries))
            for index in outputCount..<entries.count {
                let data = computed[entries[index].url] ?? Data()
                entries[index].setData(data)
                outcomes[entries[index].url] = entries[index].existing == .same ? .unchanged : .written
                guard entries[index].existing != .same else { continue }
                do {
                    try entries[index].directory!.createFile(entries[index].temporary, data: data, mode: entries[index].mode)
                } catch let error as FilesystemError {
                    throw rollBack(.renaming, because: InjectSecretsError.badInput("cannot write \(error); no file was changed"))
                }
            }
        }
        for index in changing where index >= outputCount && entries[index].existing != .same { try renameIntoPlace(index) }

        // 5. Durable, then committed: only now do the old files go.
        for folder in Set(changing.map { entries[$0].directory!.path }) {
            entries.first { $0.directory?.path == folder }?.directory?.sync()
        }
        do {
            try journal.save(.committed, in: root)
        } catch {
            // Not marked committed, the journal would have the next run undo a commit reported done.
            throw rollBack(.renaming, because: InjectSecretsError.badInput("cannot finish the commit: \(error); no file was changed"))
        }
        journal.finish(in: root)
        for entry in entries where entry.existing == .same { entry.tightenMode() }
        return outcomes
    }

    /// One target: its folder, its name, and what is there now.
    struct Entry {
        enum Existing { case none, same, different }
        var url: URL
        var path: String
        /// The folder as a walk: components from the root, or from `/` when `absolute`.
        var folder: [String]
        var absolute: Bool
        var name: String
        var directory: DirectoryHandle?
        var data: Data?
        var mode: mode_t
        var existing: Existing
        var existingMode: mode_t
        var existingSize: Int
        let temporary: String
        let backup: String

        init(url: URL, path: String, folder: [String], absolute: Bool, directory: DirectoryHandle?, data: Data?, mode: mode_t) throws {
            self.url = url
            self.path = path
            self.folder = folder
            self.absolute = absolute
            self.name = (path as NSString).lastPathComponent
            self.directory = directory
            self.data = data
            self.mode = mode
            existing = .none
            existingMode = 0
            existingSize = 0
            temporary = CommitJournal.temporaryName(for: name, kind: "new")
            backup = CommitJournal.temporaryName(for: name, kind: "old")
            guard let directory, let info = try directory.info(name) else { return }
            let kind = FileKind(info)
            if kind == .symbolicLink {
                throw FilesystemError(path: path, reason: "it is a symbolic link; outputs are never written through a link, remove it first")
            }
            guard kind == .regular else { throw FilesystemError(path: path, reason: "it \(kind.refusal)") }
            existingMode = info.st_mode & 0o7777
            existingSize = Int(info.st_size)
            existing = .different
            if let data { setData(data) }
        }

        /// Sets the bytes and compares them with the file there now.
        mutating func setData(_ data: Data) {
            self.data = data
            guard existing != .none, let directory else { return }
            existing = existingSize == data.count && (try? read(in: directory)) == data ? .same : .different
        }

        func read(in directory: DirectoryHandle) throws -> Data {
            let fd = try directory.openForReading(name)
            defer { close(fd) }
            return try BoundedFile.read(descriptor: fd, path: path, limit: max(existingSize, 1))
        }

        /// Keeps the file being replaced under `backup`: a hard link, or a copy where links are refused.
        func keepOldFile() throws {
            guard existing == .different, let directory else { return }
            if directory.link(name, as: backup) { return }
            try directory.createFile(backup, data: try read(in: directory), mode: existingMode)
        }

        /// An unchanged file keeps its bytes; only a looser mode is tightened, through a descriptor.
        func tightenMode() {
            guard existing == .same, existingMode != mode, let directory,
                let fd = try? directory.openForReading(name) else { return }
            _ = fchmod(fd, mode)
            close(fd)
        }

        var record: CommitJournal.Entry {
            CommitJournal.Entry(
                folder: folder, absolute: absolute, name: name, temporary: temporary,
                backup: existing == .different ? backup : nil)
        }
    }

    /// Finds each target's folder by a walk, caching one handle per folder (hundreds of outputs share a
    /// few), and remembers the folders that must be created.
    struct Locator {
        let root: DirectoryHandle
        let allowOutside: Bool
        private var folders: [String: DirectoryHandle?] = [:]
        private var slash: DirectoryHandle?
        private(set) var plannedFolders: [CommitJournal.Folder] = []

        init(root: DirectoryHandle, allowOutside: Bool) {
            self.root = root
            self.allowOutside = allowOutside
        }

        mutating func plan(_ url: URL, path: String, data: Data?, mode: mode_t) throws -> Entry {
            let parent = (path as NSString).deletingLastPathComponent
            let (start, folder, absolute) = try walkStart(for: parent)
            let key = (absolute ? "/" : "") + folder.joined(separator: "/")
            let directory: DirectoryHandle?
            if let known = folders[key] {
                directory = known
            } else {
                directory = try start.walk(folder, create: false)
                folders[key] = directory
                if directory == nil { try planFolders(folder, absolute: absolute, from: start) }
            }
            return try Entry(url: url, path: path, folder: folder, absolute: absolute, directory: directory, data: data, mode: mode)
        }

        /// Where the walk to `folder` starts: the root (the manifest's folder), or `/` along the folder's
        /// real path when outside paths are allowed.
        mutating func walkStart(for folder: String) throws -> (DirectoryHandle, [String], Bool) {
            let base = root.path
            if !allowOutside {
                guard folder == base || folder.hasPrefix(base + "/") else {
                    throw FilesystemError(path: folder, reason: "outside the manifest's folder; pass --allow-outside-output-paths")
                }
                return (root, folder.dropFirst(base.count).split(separator: "/").map(String.init), false)
            }
            if slash == nil { slash = try DirectoryHandle.open("/") }
            return (slash!, Self.realPathComponents(folder), true)
        }

        /// The real path of `folder`'s deepest existing ancestor, with the missing rest appended.
        static func realPathComponents(_ folder: String) -> [String] {
            var existing = folder, missing: [String] = []
            while existing != "/" && !existing.isEmpty {
                if let resolved = realpath(existing, nil) {
                    defer { free(resolved) }
                    return String(cString: resolved).split(separator: "/").map(String.init) + missing.reversed()
                }
                missing.append((existing as NSString).lastPathComponent)
                existing = (existing as NSString).deletingLastPathComponent
            }
            return missing.reversed()
        }

        /// Records the missing folders of `folder`, outermost first, for the journal.
        mutating func planFolders(_ folder: [String], absolute: Bool, from start: DirectoryHandle) throws {
            for depth in 1...folder.count where try start.walk(Array(folder[..<depth]), create: false) == nil {
                let planned = CommitJournal.Folder(folder: Array(folder[..<depth]), absolute: absolute)
                if !plannedFolders.contains(planned) { plannedFolders.append(planned) }
            }
        }

        mutating func prepareFolder(of entry: inout Entry) throws {
            guard entry.directory == nil else { return }
            let key = (entry.absolute ? "/" : "") + entry.folder.joined(separator: "/")
            if let known = folders[key] ?? nil {
                entry.directory = known
                return
            }
            let start = entry.absolute ? slash! : root
            entry.directory = try start.walk(entry.folder, create: true)
            folders[key] = entry.directory
        }

        /// Looks up the identity of a target as it is now, through its folder's descriptor.
        static func identities(of entries: [Entry]) -> (URL) -> String? {
            var byURL: [URL: Entry] = [:]
            for entry in entries { byURL[entry.url] = entry }
            return { url in
                guard let entry = byURL[url], let directory = entry.directory, let info = try? directory.info(entry.name) else { return nil }
                return RenderRecord.fileIdentity(info)
            }
        }
    }
}
