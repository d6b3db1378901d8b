import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a whole file only after its descriptor says it is a regular file within a size limit, so a 2 GiB
/// sparse file costs one `fstat`, a FIFO never blocks the run (`O_NONBLOCK`), and a directory, socket or
/// device is named as such. Used for every file the tool reads whole: manifest, file store, lock, render
/// record, commit journal, and the credential files (tokens, AWS shared files).
package enum BoundedFile {
    /// The limit for files the tool reads whole, the same as the YAML reader's.
    static let defaultLimit = YAMLLimits().maxBytes
    /// The limit for a credential file: a token or JWT is a few KiB, an AWS config file rarely more.
    package static let credentialLimit = 1 << 20

    /// The file's bytes; nil when it does not exist. `followLink: false` refuses a symbolic link at `path`.
    package static func read(_ path: String, limit: Int = defaultLimit, followLink: Bool = true) throws -> Data? {
        var flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC
        if !followLink { flags |= O_NOFOLLOW }
        let fd = posixOpen(path, flags)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            var info = stat()
            if code == ELOOP || code == ENXIO || code == EOPNOTSUPP, lstat(path, &info) == 0 {
                throw FilesystemError(path: path, reason: FileKind(info).refusal)
            }
            throw FilesystemError(path: path, reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        return try read(descriptor: fd, path: path, limit: limit)
    }

    /// The same for a file opened already (by `DirectoryHandle.openForReading`).
    package static func read(descriptor fd: Int32, path: String, limit: Int = defaultLimit) throws -> Data {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FilesystemError(path: path, reason: systemReason()) }
        let kind = FileKind(info)
        guard kind == .regular else { throw FilesystemError(path: path, reason: kind.refusal) }
        guard Int(info.st_size) <= limit else {
            throw FilesystemError(path: path, reason: "is \(info.st_size) bytes, more than the limit of \(limit) bytes")
        }
        var data = Data(capacity: Int(info.st_size))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FilesystemError(path: path, reason: systemReason())
            }
            if count == 0 { break }
            data.append(contentsOf: buffer[..<count])
            // It grew while being read: the size checked above no longer bounds it.
            guard data.count <= limit else {
                throw FilesystemError(path: path, reason: "is more than the limit of \(limit) bytes")
            }
        }
        return data
    }
}
