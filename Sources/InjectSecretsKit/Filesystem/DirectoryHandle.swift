import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open directory, and every file operation relative to it (`openat`, `mkdirat`, `renameat`,
/// `linkat`, `unlinkat`, `fstatat`), so that what a name means is fixed when the directory is opened.
/// Paths are reached by `walk`: one component at a time with `O_NOFOLLOW | O_DIRECTORY`, so a folder
/// swapped for a symbolic link between a check and a write makes the write fail instead of leaving the
/// tree. The one home for writing anything the tool owns (outputs, lock, render record, commit journal,
/// run lock).
package final class DirectoryHandle: Sendable {
    package let descriptor: Int32
    /// The directory's path, for messages only: no operation goes through it.
    package let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Opens `path` itself (following links in it: it is the root the user chose).
    package static func open(_ path: String) throws -> DirectoryHandle {
        let fd = posixOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FilesystemError(path: path, reason: systemReason()) }
        return DirectoryHandle(descriptor: fd, path: path)
    }

    func childPath(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    /// Opens the child directory `name` without following a link. With `create`, a missing one is made
    /// with mode 0700 (the commit journal lists the folders a commit may make, so it can remove them).
    func child(_ name: String, create: Bool) throws -> DirectoryHandle? {
        guard name != "..", !name.isEmpty, name != ".", !name.contains("/") else {
            throw FilesystemError(path: childPath(name), reason: "not a plain folder name")
        }
        var fd = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && errno == ENOENT && create {
            if mkdirat(descriptor, name, 0o700) != 0 && errno != EEXIST {
                throw FilesystemError(path: childPath(name), reason: "cannot create the folder: \(systemReason())")
            }
            fd = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 { _ = fchmod(fd, 0o700) }  // mkdirat's mode passes through the umask
        }
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            throw FilesystemError(path: childPath(name), reason: Self.describeOpenFailure(code, at: self, name))
        }
        return DirectoryHandle(descriptor: fd, path: childPath(name))
    }

    /// Walks `components` down from here; nil when a folder is missing and `create` is false.
    package func walk(_ components: [String], create: Bool) throws -> DirectoryHandle? {
        var current = self
        for component in components {
            guard let next = try current.child(component, create: create) else { return nil }
            current = next
        }
        return current
    }

    /// What `name` is, without following a link; nil when it does not exist.
    package func info(_ name: String) throws -> stat? {
        var result = stat()
        guard fstatat(descriptor, name, &result, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw FilesystemError(path: childPath(name), reason: systemReason())
        }
        return result
    }

    /// Opens the regular file `name` for reading without following a link and without blocking on a FIFO.
    package func openForReading(_ name: String) throws -> Int32 {
        let fd = openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FilesystemError(path: childPath(name), reason: Self.describeOpenFailure(errno, at: self, name)) }
        return fd
    }

    /// Creates `name` (which must not exist) with exactly `mode`, writes `data` and syncs it.
    package func createFile(_ name: String, data: Data, mode: mode_t) throws {
        let fd = openat(descriptor, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FilesystemError(path: childPath(name), reason: systemReason()) }
        var failure: String?
        if fchmod(fd, mode) != 0 { failure = systemReason() }
        if failure == nil { failure = Self.writeAll(data, to: fd) }
        if failure == nil, fsync(fd) != 0 { failure = systemReason() }
        if close(fd) != 0, failure == nil { failure = systemReason() }
        if let failure {
            unlinkat(descriptor, name, 0)
            throw FilesystemError(path: childPath(name), reason: failure)
        }
    }

    /// Writes `data` to `name` through a temporary name and a rename, then syncs the folder.
    package func replaceFile(_ name: String, data: Data, mode: mode_t, temporary: String) throws {
        remove(temporary)
        try createFile(temporary, data: data, mode: mode)
        guard rename(temporary, to: name) else {
            let reason = systemReason()
            remove(temporary)
            throw FilesystemError(path: childPath(name), reason: reason)
        }
        sync()
    }

    static func writeAll(_ data: Data, to fd: Int32) -> String? {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
            var offset = 0
            while offset < raw.count {
                let count = posixWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return systemReason()
                }
                offset += count
            }
            return nil
        }
    }

    package func rename(_ from: String, to: String) -> Bool { renameat(descriptor, from, descriptor, to) == 0 }

    /// A second name for the file `name` (a hard link), so it survives a rename over it.
    package func link(_ name: String, as other: String) -> Bool { linkat(descriptor, name, descriptor, other, 0) == 0 }

    /// Removes the file `name`, if there is one.
    @discardableResult
    package func remove(_ name: String) -> Bool { unlinkat(descriptor, name, 0) == 0 }

    /// Removes the folder `name` if it is empty.
    @discardableResult
    package func removeDirectory(_ name: String) -> Bool { unlinkat(descriptor, name, AT_REMOVEDIR) == 0 }

    /// Makes renames in this folder durable. Best effort: some file systems refuse to sync a folder.
    package func sync() { _ = fsync(descriptor) }

    /// Why an `openat` failed, in words a user acts on ("is a symbolic link", "is a FIFO, not a file").
    package static func describeOpenFailure(_ code: Int32, at directory: DirectoryHandle, _ name: String) -> String {
        if code == ELOOP || code == ENOTDIR || code == EMLINK, let info = try? directory.info(name) {
            let kind = FileKind(info)
            return kind == .regular ? "is a file, not a folder" : kind.refusal
        }
        return String(cString: strerror(code))
    }
}

/// What kind of file a `stat` describes, for refusals that name it.
package enum FileKind: Equatable {
    case regular, directory, symbolicLink, fifo, socket, device, other

    package init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symbolicLink
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        case S_IFCHR, S_IFBLK: self = .device
        default: self = .other
        }
    }

    package var refusal: String {
        switch self {
        case .regular: return "is a file"
        case .directory: return "is a directory, not a file"
        case .symbolicLink: return "is a symbolic link, which is never followed"
        case .fifo: return "is a FIFO, not a file"
        case .socket: return "is a socket, not a file"
        case .device: return "is a device, not a file"
        case .other: return "is not a regular file"
        }
    }
}

/// A file operation that failed: the path and the system's reason, never any content.
package struct FilesystemError: Error, CustomStringConvertible {
    var path: String
    var reason: String

    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    package var description: String { "\(path): \(reason)" }

    /// The reason after "cannot read NAME: ": "it is a FIFO, not a file", or the system's words.
    package var clause: String { reason.hasPrefix("is ") ? "it " + reason : reason }

    /// `name` and the reason: "inject-secrets.lock is a FIFO, not a file", "inject-secrets.lock: Permission denied".
    package func naming(_ name: String) -> String { reason.hasPrefix("is ") ? "\(name) \(reason)" : "\(name): \(reason)" }
}

package func systemReason() -> String { String(cString: strerror(errno)) }

// The C functions (Glibc or Darwin) by unambiguous names: types here have methods called `open`,
// `write`, `rename`.
@inline(__always) func posixOpen(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }
@inline(__always) func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
