import Foundation
import TestSupport
import XCTest
@testable import InjectSecretsCore
@testable import InjectSecretsKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class OutputWriterTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("writer")
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func testWritesNewFilesAndDirectoriesWithPrivateModes() throws {
        let previous = umask(0o022)
        defer { umask(previous) }
        let first = directory.appendingPathComponent("out/nested/checkout.env")
        let second = directory.appendingPathComponent("out/worker.sh")
        let outcomes = try write([
            PendingFile(url: first, data: Data("A=\"1\"\n".utf8)),
            PendingFile(url: second, data: Data("export A='1'\n".utf8)),
        ])
        XCTAssertEqual(outcomes, [first: .written, second: .written])
        XCTAssertEqual(try Data(contentsOf: first), Data("A=\"1\"\n".utf8))
        XCTAssertEqual(try Data(contentsOf: second), Data("export A='1'\n".utf8))
        XCTAssertEqual(try mode(first), 0o600)
        XCTAssertEqual(try mode(second), 0o600)
        XCTAssertEqual(try mode(directory.appendingPathComponent("out")), 0o700)
        XCTAssertEqual(try mode(directory.appendingPathComponent("out/nested")), 0o700)
        XCTAssertEqual(try strayFiles(), [])
    }

    func testUnchangedFilesAreNotRewritten() throws {
        let same = directory.appendingPathComponent("same.env")
        let changed = directory.appendingPathComponent("changed.env")
        try write([
            PendingFile(url: same, data: Data("A=\"1\"\n".utf8)),
            PendingFile(url: changed, data: Data("B=\"1\"\n".utf8)),
        ])
        let past = Date(timeIntervalSince1970: 1_000_000_000)
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: same.path)
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: changed.path)
        let inodeBefore = try inode(same)

        let outcomes = try write([
            PendingFile(url: same, data: Data("A=\"1\"\n".utf8)),
            PendingFile(url: changed, data: Data("B=\"2\"\n".utf8)),
        ])
        XCTAssertEqual(outcomes, [same: .unchanged, changed: .written])
        XCTAssertEqual(try modificationDate(same), past)
        XCTAssertEqual(try inode(same), inodeBefore)
        XCTAssertNotEqual(try modificationDate(changed), past)
        XCTAssertEqual(try Data(contentsOf: changed), Data("B=\"2\"\n".utf8))
        XCTAssertEqual(try strayFiles(), [])
    }

    func testReplacesAnExistingFileWithLooseModeAsPrivate() throws {
        let target = directory.appendingPathComponent("loose.env")
        try Data("old".utf8).write(to: target)
        chmod(target.path, 0o644)
        try write([PendingFile(url: target, data: Data("new".utf8))])
        XCTAssertEqual(try mode(target), 0o600)
        XCTAssertEqual(try Data(contentsOf: target), Data("new".utf8))
    }

    func testFailureMidwayLeavesEveryTargetAsItWas() throws {
        let before = directory.appendingPathComponent("a/first.env")
        let after = directory.appendingPathComponent("z/last.env")
        try write([
            PendingFile(url: before, data: Data("old first".utf8)),
            PendingFile(url: after, data: Data("old last".utf8)),
        ])
        let blocker = directory.appendingPathComponent("blocker")
        try Data("I am a file".utf8).write(to: blocker)
        let fresh = directory.appendingPathComponent("new/dir/fresh.env")
        let canary = Canary("midway").value

        XCTAssertThrowsError(try write([
            PendingFile(url: before, data: Data("new first \(canary)".utf8)),
            PendingFile(url: fresh, data: Data("fresh \(canary)".utf8)),
            PendingFile(url: blocker.appendingPathComponent("inside.env"), data: Data("x \(canary)".utf8)),
            PendingFile(url: after, data: Data("new last \(canary)".utf8)),
        ])) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(blocker.path), message)
            XCTAssertFalse(message.contains(canary))
            XCTAssertEqual((error as? InjectSecretsError)?.kind, .badInput)
        }
        XCTAssertEqual(try Data(contentsOf: before), Data("old first".utf8))
        XCTAssertEqual(try Data(contentsOf: after), Data("old last".utf8))
        XCTAssertEqual(try Data(contentsOf: blocker), Data("I am a file".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("new").path),
                       "directories created by the failed run must be removed")
        XCTAssertEqual(try strayFiles(), [])
        XCTAssertTrue(filesBelow(directory).values.allSatisfy { !$0.contains(canary) })
    }

    func testFailedRenameRestoresTheTargetsAlreadyReplaced() throws {
        let first = directory.appendingPathComponent("first.env")
        let second = directory.appendingPathComponent("second.env")
        let third = directory.appendingPathComponent("third.env")
        try write([PendingFile(url: first, data: Data("old 1".utf8)), PendingFile(url: third, data: Data("old 3".utf8))])

        var renames = 0
        XCTAssertThrowsError(try OutputWriter.write(
            [
                PendingFile(url: first, data: Data("new 1".utf8)),
                PendingFile(url: second, data: Data("new 2".utf8)),
                PendingFile(url: third, data: Data("new 3".utf8)),
            ],
            root: OutputWriter.open(directory), allowOutside: false,
            rename: { folder, from, to in
                renames += 1
                if renames == 3 { errno = EIO; return false }
                return folder.rename(from, to: to)
            })) { error in
            XCTAssertTrue(String(describing: error).contains(third.path))
        }
        XCTAssertEqual(try Data(contentsOf: first), Data("old 1".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: second.path))
        XCTAssertEqual(try Data(contentsOf: third), Data("old 3".utf8))
        XCTAssertEqual(try strayFiles(), [])
    }

    /// The lock is renamed after the outputs; when its rename fails, the outputs already renamed go back.
    func testALateFileThatCannotBeRenamedPutsTheOutputsBack() throws {
        let output = directory.appendingPathComponent("out/fn.env"), lock = directory.appendingPathComponent("inject-secrets.lock")
        try write([PendingFile(url: output, data: Data("old".utf8)), PendingFile(url: lock, data: Data("lock 1".utf8), mode: 0o644)])
        let canary = Canary("late").value
        XCTAssertThrowsError(try OutputWriter.write(
            [PendingFile(url: output, data: Data(canary.utf8)), PendingFile(url: directory.appendingPathComponent("out/new.env"), data: Data(canary.utf8))],
            root: OutputWriter.open(directory), allowOutside: false,
            late: ([(lock, 0o644)], { identity in
                XCTAssertNotNil(identity(output), "the outputs are in place when the late files are computed")
                return [lock: Data("lock 2".utf8)]
            }),
            rename: { folder, from, to in
                if to == "inject-secrets.lock" { errno = EIO; return false }
                return folder.rename(from, to: to)
            })) { error in
            XCTAssertTrue(String(describing: error).contains(lock.path), "\(error)")
            XCTAssertFalse(String(describing: error).contains(canary))
        }
        XCTAssertEqual(try Data(contentsOf: output), Data("old".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("out/new.env").path))
        XCTAssertEqual(try Data(contentsOf: lock), Data("lock 1".utf8))
        XCTAssertEqual(try strayFiles(), [])
    }

    /// A commit killed at any point leaves its journal; recovery undoes it or finishes it.
    func testRecoveryUndoesACommitInterruptedWhileRenaming() throws {
        let first = directory.appendingPathComponent("a.env"), second = directory.appendingPathComponent("sub/b.env")
        try write([PendingFile(url: first, data: Data("old a".utf8))])
        let root = try OutputWriter.open(directory)
        // Stage by hand what a killed commit leaves: a journal in `renaming`, one target renamed.
        let journal = CommitJournal(
            state: .renaming,
            entries: [
                .init(folder: [], absolute: false, name: "a.env", temporary: ".a.env.inject-secrets-new-1", backup: ".a.env.inject-secrets-old-1"),
                .init(folder: ["sub"], absolute: false, name: "b.env", temporary: ".b.env.inject-secrets-new-2", backup: nil),
            ],
            folders: [.init(folder: ["sub"], absolute: false)])
        XCTAssertTrue(root.link("a.env", as: ".a.env.inject-secrets-old-1"))
        try root.createFile(".a.env.inject-secrets-new-1", data: Data("new a".utf8), mode: 0o600)
        XCTAssertTrue(root.rename(".a.env.inject-secrets-new-1", to: "a.env"))
        try FileManager.default.createDirectory(at: second.deletingLastPathComponent(), withIntermediateDirectories: false)
        try Data("new b".utf8).write(to: directory.appendingPathComponent("sub/.b.env.inject-secrets-new-2"))
        try journal.encoded().write(to: directory.appendingPathComponent(CommitJournal.fileName))

        let note = try CommitJournal.recover(in: root, displayFolder: "")
        XCTAssertTrue(note?.contains("interrupted") == true, note ?? "no note")
        XCTAssertEqual(try Data(contentsOf: first), Data("old a".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("sub").path))
        XCTAssertEqual(try strayFiles(), [])
        XCTAssertNil(try CommitJournal.recover(in: root, displayFolder: ""), "nothing left to recover")
    }

    func testAJournalNamingFilesThatAreNotOursIsRefused() throws {
        try Data("keep".utf8).write(to: directory.appendingPathComponent("precious"))
        try Data(#"{"journal-version": 1, "state": "preparing", "folders": [], "entries": [{"folder": "", "name": "x", "new": "precious"}]}"#.utf8)
            .write(to: directory.appendingPathComponent(CommitJournal.fileName))
        XCTAssertThrowsError(try CommitJournal.recover(in: OutputWriter.open(directory), displayFolder: "")) { error in
            XCTAssertTrue("\(error)".contains("damaged"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("precious")), Data("keep".utf8))
    }

    func testRefusesASymlinkAtATargetAndWritesNothing() throws {
        let elsewhere = directory.appendingPathComponent("elsewhere.txt")
        try Data("precious".utf8).write(to: elsewhere)
        let link = directory.appendingPathComponent("checkout.env")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: elsewhere)
        let dangling = directory.appendingPathComponent("dangling.env")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: directory.appendingPathComponent("nowhere").path)
        let other = directory.appendingPathComponent("other.env")

        XCTAssertThrowsError(try write([
            PendingFile(url: other, data: Data("other".utf8)),
            PendingFile(url: link, data: Data("new".utf8)),
            PendingFile(url: dangling, data: Data("new".utf8)),
        ])) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(link.path) && message.contains("symbolic link"), message)
            XCTAssertTrue(message.contains(dangling.path), "every refused target is named: \(message)")
        }
        XCTAssertEqual(try Data(contentsOf: elsewhere), Data("precious".utf8))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link.path), elsewhere.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: other.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("nowhere").path))
    }

    func testRefusesADirectoryAtATarget() throws {
        let target = directory.appendingPathComponent("checkout.env")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        XCTAssertThrowsError(try write([PendingFile(url: target, data: Data("x".utf8))])) { error in
            XCTAssertTrue(String(describing: error).contains("\(target.path): it is a directory"))
        }
    }

    func testRefusesTwoOutputsForOneFile() throws {
        let target = directory.appendingPathComponent("checkout.env")
        let aliased = directory.appendingPathComponent("sub/../checkout.env")
        XCTAssertThrowsError(try write([
            PendingFile(url: target, data: Data("a".utf8)), PendingFile(url: aliased, data: Data("b".utf8)),
        ]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
    }

    // MARK: - Helpers

    @discardableResult
    func write(_ files: [PendingFile]) throws -> [URL: WriteOutcome] {
        try OutputWriter.write(files, root: directory)
    }

    func mode(_ url: URL) throws -> mode_t {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { throw TestSupportError("lstat \(url.path) failed") }
        return info.st_mode & 0o7777
    }

    func inode(_ url: URL) throws -> UInt64 {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { throw TestSupportError("lstat \(url.path) failed") }
        return UInt64(info.st_ino)
    }

    func modificationDate(_ url: URL) throws -> Date? {
        try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date
    }

    /// Temporary or backup files the writer left behind anywhere below the test folder.
    func strayFiles() throws -> [String] {
        let all = FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? []
        return all.filter { ($0 as NSString).lastPathComponent.contains(".inject-secrets-") }.sorted()
    }
}
