import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One output file to write: where, and its complete bytes.
public struct PendingFile: Sendable, Hashable {
    public var url: URL
    public var data: Data

    public init(url: URL, data: Data) {
        self.url = url
        self.data = data
    }
}

/// What happened to one target.
public enum WriteOutcome: String, Sendable, Hashable {
    /// The bytes changed (or the file is new) and the file was replaced.
    case written
    /// The file already held exactly these bytes and was left alone.
    case unchanged
}

/// Writes a run's outputs all or nothing.
///
/// 1. Checks every target: a symbolic link or a directory at a target path, or anything that is not a
///    regular file, is refused (nothing is followed). Files whose bytes are already right are skipped.
/// 2. Creates missing directories with mode 0700.
/// 3. Writes every changed file to a temporary file in its target's directory (created with `O_EXCL`,
///    mode 0600 from the start, `fsync`ed).
/// 4. Only when all of that worked, renames the temporary files into place. If a rename fails, the
///    targets already replaced get their old files back (kept through a hard link) or are removed.
///
/// When anything fails, every temporary file and every directory it created are removed and each target
/// is as before. Errors are `InjectSecretsError` (bad input) naming the path and the system's reason,
/// never the contents.
public enum OutputWriter {
    @discardableResult
    public static func write(_ files: [PendingFile]) throws -> [URL: WriteOutcome] {
        try write(files, rename: { Glibc_rename($0, $1) })
    }

    /// The same, with the rename step replaceable so tests can make it fail part way.
    static func write(_ files: [PendingFile], rename renameFile: (String, String) -> Int32) throws -> [URL: WriteOutcome] {
        // 1. Check every target before touching anything.
        var problems = DiagnosticCollector()
        var seen: Set<String> = []
        var plans: [Plan] = []
        for file in files {
            let path = file.url.standardizedFileURL.path
            guard file.url.isFileURL, !path.isEmpty, path != "/" else {
                problems.error("cannot write '\(file.url.absoluteString)': not a file path", at: nil)
                continue
            }
            guard seen.insert(path).inserted else {
                problems.error("two outputs would write the same file \(path)", at: nil)
                continue
            }
            do {
                plans.append(try plan(file, path: path))
            } catch let error as InjectSecretsError {
                problems.append(contentsOf: error.diagnostics)
            }
        }
        try problems.throwIfErrors()

        // 2 and 3. Directories and temporary files; undone completely on any failure.
        var createdDirectories: [String] = []
        var temporaries: [(plan: Plan, temporary: String)] = []
        do {
            for plan in plans where plan.existing != .same {
                try createDirectories(for: plan.path, created: &createdDirectories)
                let temporary = try writeTemporary(plan.data, beside: plan.path)
                temporaries.append((plan, temporary))
            }
        } catch {
            for entry in temporaries { unlink(entry.temporary) }
            removeDirectories(createdDirectories)
            throw error
        }

        // 4. Rename into place, keeping the old files until every rename has worked.
        var backups: [String: String] = [:]
        for entry in temporaries where entry.plan.existing == .different {
            let backup = temporaryName(beside: entry.plan.path, kind: "old")
            if link(entry.plan.path, backup) == 0 { backups[entry.plan.path] = backup }
        }
        for (index, entry) in temporaries.enumerated() {
            if renameFile(entry.temporary, entry.plan.path) != 0 {
                let reason = systemReason()
                var notRestored: [String] = []
                for done in temporaries[..<index].reversed() {
                    if let backup = backups[done.plan.path] {
                        if Glibc_rename(backup, done.plan.path) != 0 {
                            notRestored.append(done.plan.path + " (old file kept as \(backup))")
                            backups[done.plan.path] = nil
                        }
                    } else if done.plan.existing == .none {
                        unlink(done.plan.path)
                    } else {
                        // No hard link could be made (the file system refused): the new file stays.
                        notRestored.append(done.plan.path)
                    }
                }
                for rest in temporaries[index...] { unlink(rest.temporary) }
                for backup in backups.values { unlink(backup) }  // restored ones were renamed away already
                removeDirectories(createdDirectories)
                let outcome = notRestored.isEmpty
                    ? "no output was changed"
                    : "these outputs are already new and could not be put back: \(notRestored.sorted().joined(separator: ", "))"
                throw InjectSecretsError.badInput("cannot write \(entry.plan.path): \(reason); \(outcome)")
            }
        }
        for backup in backups.values { unlink(backup) }
        for directory in Set(temporaries.map { ($0.plan.path as NSString).deletingLastPathComponent }) {
            syncDirectory(directory)
        }

        var outcomes: [URL: WriteOutcome] = [:]
        for plan in plans {
            if plan.existing == .same {
                // Bytes are right; only tighten a looser mode to the 0600 every output has.
                if plan.mode != 0o600 { restrictMode(plan.path) }
                outcomes[plan.url] = .unchanged
            } else {
                outcomes[plan.url] = .written
            }
        }
        return outcomes
    }

    struct Plan {
        enum Existing { case none, same, different }
        var url: URL
        var path: String
        var data: Data
        var existing: Existing
        var mode: mode_t
    }

    /// Looks at what is at the target path now, without following a link.
    static func plan(_ file: PendingFile, path: String) throws -> Plan {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                // Missing, or a parent is missing or not a directory: creating the directory will tell.
                return Plan(url: file.url, path: path, data: file.data, existing: .none, mode: 0)
            }
            throw InjectSecretsError.badInput("cannot write \(path): \(String(cString: strerror(code)))")
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFLNK {
            throw InjectSecretsError.badInput(
                "refusing to write \(path): it is a symbolic link; outputs are never written through a link, remove it first")
        }
        if type == S_IFDIR {
            throw InjectSecretsError.badInput("cannot write \(path): it is a directory")
        }
        guard type == S_IFREG else {
            throw InjectSecretsError.badInput("cannot write \(path): it is not a regular file")
        }
        let mode = info.st_mode & 0o7777
        let same = Int(info.st_size) == file.data.count && (try? readFile(path)) == file.data
        return Plan(url: file.url, path: path, data: file.data, existing: same ? .same : .different, mode: mode)
    }

    static func readFile(_ path: String) throws -> Data {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw InjectSecretsError.badInput("cannot read \(path): \(systemReason())") }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw InjectSecretsError.badInput("cannot read \(path): \(systemReason())")
            }
            if count == 0 { break }
            data.append(contentsOf: buffer[..<count])
        }
        return data
    }

    /// Creates the missing directories above `path`, outermost first, each with mode 0700.
    static func createDirectories(for path: String, created: inout [String]) throws {
        var missing: [String] = []
        var directory = (path as NSString).deletingLastPathComponent
        while !directory.isEmpty && directory != "/" {
            var info = stat()
            if stat(directory, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw InjectSecretsError.badInput("cannot write \(path): \(directory) is not a directory")
                }
                break
            }
            let code = errno
            guard code == ENOENT else {
                throw InjectSecretsError.badInput("cannot write \(path): \(directory): \(String(cString: strerror(code)))")
            }
            missing.append(directory)
            directory = (directory as NSString).deletingLastPathComponent
        }
        for directory in missing.reversed() {
            if mkdir(directory, 0o700) != 0 {
                let code = errno
                var info = stat()
                if code == EEXIST, stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { continue }
                throw InjectSecretsError.badInput("cannot create directory \(directory): \(String(cString: strerror(code)))")
            }
            created.append(directory)
            chmod(directory, 0o700)  // mkdir's mode is filtered by the umask; make it exactly 0700.
        }
    }

    /// Removes directories this run created, innermost first, when they are empty again.
    static func removeDirectories(_ directories: [String]) {
        for directory in directories.reversed() { rmdir(directory) }
    }

    /// Writes `data` to a new file next to `path`, mode 0600 from its creation, and syncs it.
    static func writeTemporary(_ data: Data, beside path: String) throws -> String {
        let temporary = temporaryName(beside: path, kind: "new")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw InjectSecretsError.badInput("cannot write \(path): \(systemReason())") }
        var failure: String?
        if fchmod(fd, 0o600) != 0 { failure = systemReason() }
        if failure == nil {
            data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                var offset = 0
                while offset < raw.count {
                    let count = Glibc_write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if count < 0 {
                        if errno == EINTR { continue }
                        failure = systemReason()
                        return
                    }
                    offset += count
                }
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = systemReason() }
        if close(fd) != 0, failure == nil { failure = systemReason() }
        if let failure {
            unlink(temporary)
            throw InjectSecretsError.badInput("cannot write \(path): \(failure)")
        }
        return temporary
    }

    /// `.NAME.inject-secrets-KIND-RANDOM` in the same directory, so a rename never crosses file systems.
    static func temporaryName(beside path: String, kind: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let random = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        return (directory as NSString).appendingPathComponent(".\(name).inject-secrets-\(kind)-\(random)")
    }

    /// Makes the renames in `directory` durable. Best effort: some file systems refuse to sync a directory.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Sets an existing output to 0600 through a descriptor, so a link swapped in meanwhile is not followed.
    static func restrictMode(_ path: String) {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fchmod(fd, 0o600)
        close(fd)
    }

    static func systemReason() -> String { String(cString: strerror(errno)) }
}

// The C functions by an unambiguous name (`rename` and `write` are also this type's own names).
@inline(__always) private func Glibc_rename(_ from: String, _ to: String) -> Int32 { rename(from, to) }
@inline(__always) private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
