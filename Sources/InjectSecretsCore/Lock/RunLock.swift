import Foundation
import InjectSecretsKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `.inject-secrets.flock` beside the manifest: an advisory `flock` that `render`, `drift`, `rotate`
/// and `deploy` hold for their whole run, so two runs on one manifest never interleave their reads of
/// the lock with their writes of it (a lost update) and only the holder recovers an interrupted commit.
/// The file is empty, never removed (removing a lock file lets two runs lock two different files), and
/// is released by the kernel when the process ends, however it ends.
final class RunLock: Sendable {
    static let fileName = ".inject-secrets.flock"
    /// How long a second run waits by default (`--lock-wait`).
    static let defaultWait: TimeInterval = 60

    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    /// Takes the lock in `root`, waiting up to `wait` seconds while another run holds it (saying so
    /// once through `notice`). Fails with `FailureKind.busy` after the wait, or `interrupted` on a signal.
    static func acquire(
        in root: DirectoryHandle, displayFolder: String, wait: TimeInterval, interruption: Interruption?,
        notice: (@Sendable (String) -> Void)?
    ) throws -> RunLock {
        let place = displayFolder.isEmpty ? fileName : displayFolder + "/" + fileName
        var fd = openat(root.descriptor, fileName, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
        if fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM) {
            // A read-only folder cannot hold the file; its own descriptor can be locked instead.
            fd = dup(root.descriptor)
        }
        guard fd >= 0 else {
            throw InjectSecretsError.badInput("cannot open the run lock \(place): \(DirectoryHandle.describeOpenFailure(errno, at: root, fileName))")
        }
        var info = stat()
        if fstat(fd, &info) == 0, FileKind(info) != .regular, FileKind(info) != .directory {
            close(fd)
            throw InjectSecretsError.badInput("cannot use the run lock \(place): it \(FileKind(info).refusal)")
        }
        let lock = RunLock(descriptor: fd)
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return lock }
        guard errno == EWOULDBLOCK else {
            throw InjectSecretsError.badInput("cannot lock \(place): \(systemReason())")
        }
        notice?("another inject-secrets run holds \(place); waiting up to \(Int(wait)) s for it to finish (--lock-wait)")
        let deadline = Date().addingTimeInterval(wait)
        while Date() < deadline {
            if let signal = interruption?.signal {
                throw InjectSecretsError.interrupted(signal, "while waiting for \(place); nothing was read or written")
            }
            usleep(50_000)
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return lock }
        }
        throw InjectSecretsError(.busy, [.error(
            "another inject-secrets run still holds \(place) after \(Int(wait)) s; nothing was read or written. Wait for it to finish, or pass a longer --lock-wait",
            at: nil)])
    }
}
