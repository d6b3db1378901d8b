import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The filesystem edges of issue #12: a folder swapped for a link while render runs, `--audit-log`
/// through a link, files read whole only after their size and kind are checked, and a commit that
/// includes the lock. Through the built executable.
final class FilesystemHardeningTests: XCTestCase {
    var workspace: CLIWorkspace!
    var outside: URL!

    override func setUpWithError() throws {
        workspace = try CLIWorkspace("fs-hardening")
        outside = try makeTemporaryDirectory("fs-outside")
    }

    override func tearDownWithError() throws {
        if let outside { try? FileManager.default.removeItem(at: outside) }
    }

    /// `count` functions `fn0...`, each writing `out/fnN.env` from one secret.
    func project(functions count: Int, value: String) throws {
        try workspace.write(["inject-secrets.yaml": CLIWorkspace.fanOutManifest(functions: count), "store.yaml": store(version: "1", value: value)])
    }

    func store(version: String, value: String) -> String {
        """
        prod/db:
          current: "\(version)"
          versions:
            "\(version)": \(value)
        """
    }

    // MARK: Links

    /// A thread keeps swapping `out` between a real folder and a link to a folder outside the manifest's
    /// folder while render runs; whenever the check saw a folder and the write came after a swap, the old
    /// path-based writer followed the link. Each trial: no file may ever appear outside.
    func testAFolderSwappedForALinkDuringRenderNeverRedirectsAnOutside() throws {
        let value = workspace.canary("race")
        try project(functions: 200, value: value)
        let out = workspace.url("out"), parked = workspace.url("out.real")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

        let stop = Atomic()
        let outsidePath: String = self.outside.path
        let swapper = Thread {
            while !stop.isSet {
                rename(out.path, parked.path)
                symlink(outsidePath, out.path)
                usleep(UInt32.random(in: 0...3_000))
                unlink(out.path)
                rename(parked.path, out.path)
                usleep(UInt32.random(in: 0...3_000))
            }
            stop.acknowledge()
        }
        swapper.start()
        var statuses: [Int32: Int] = [:]
        for _ in 0..<40 {
            let result = try workspace.run(["render"])
            statuses[result.status, default: 0] += 1
            XCTAssertTrue([0, 2].contains(result.status), "render either writes inside or refuses: \(result.stderr)")
            let escaped = (FileManager.default.enumerator(atPath: outside.path)?.allObjects as? [String]) ?? []
            XCTAssertEqual(escaped, [], "a file was written through the swapped link, outside the manifest's folder")
            if !escaped.isEmpty { break }
        }
        stop.set()
        stop.waitForAcknowledgement()
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: out.path)) != nil { unlink(out.path) }
        if FileManager.default.fileExists(atPath: parked.path) {
            try? FileManager.default.removeItem(at: out)
            rename(parked.path, out.path)
        }
        print("swap race: exit statuses \(statuses)")

        // Undisturbed, the next render writes everything and drift agrees; no debris anywhere.
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        XCTAssertEqual(try workspace.run(["drift"]).status, 0)
        XCTAssertEqual(debris(in: workspace.directory), [])
        XCTAssertEqual(workspace.read("out/fn7.env"), "DB=\"\(value)\"\n")
    }

    func testAnAuditLogThatIsALinkIsRefusedAndItsTargetUntouched() throws {
        try project(functions: 1, value: workspace.canary("audit"))
        let target = outside.appendingPathComponent("victim.log")
        try Data("precious\n".utf8).write(to: target)
        chmod(target.path, 0o644)
        try FileManager.default.createSymbolicLink(at: workspace.url("audit.log"), withDestinationURL: target)

        let result = try workspace.run(["render", "--audit-log", "audit.log"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("audit.log: it is a symbolic link"), result.stderr)
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "precious\n")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: target.path)[.posixPermissions] as? Int, 0o644)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.url("out/fn0.env").path), "nothing rendered")

        // A FIFO there is refused without waiting for a reader.
        try FileManager.default.removeItem(at: workspace.url("audit.log"))
        XCTAssertEqual(mkfifo(workspace.url("audit.log").path, 0o600), 0)
        let fifo = try workspace.run(["drift", "--audit-log", "audit.log"])
        XCTAssertEqual(fifo.status, 2)
        XCTAssertTrue(fifo.stderr.contains("audit.log: it is a FIFO, not a file"), fifo.stderr)
    }

    // MARK: Bounded reads

    /// A 2 GiB sparse file store costs one fstat: refused fast, with a small footprint.
    func testAnOversizeSparseStoreIsRefusedBeforeItIsRead() throws {
        try project(functions: 1, value: workspace.canary("sparse"))
        XCTAssertEqual(truncate(workspace.url("store.yaml").path, 2 << 30), 0)
        let started = Date()
        let result = try workspace.run(["render"])
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertTrue(result.stderr.contains("store.yaml: it is 2147483648 bytes, more than the limit of 67108864 bytes"), result.stderr)
        XCTAssertFalse(result.stderr.contains("NSCocoaErrorDomain"))
        XCTAssertLessThan(elapsed, 30, "reading 2 GiB would take far longer")
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        #else
        getrusage(RUSAGE_CHILDREN, &usage)
        #endif
        // ru_maxrss: the largest child so far, in KiB on Linux, in bytes on macOS.
        #if os(Linux)
        let gigabyte = 1 << 20
        #else
        let gigabyte = 1 << 30
        #endif
        XCTAssertLessThan(Int(usage.ru_maxrss), gigabyte, "a child of this test used a gigabyte: the store was read")
    }

    func testAnOversizeLockOrRenderRecordIsRefusedBeforeItIsRead() throws {
        try project(functions: 1, value: workspace.canary("biglock"))
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        XCTAssertEqual(truncate(workspace.url("out/.inject-secrets-state.json").path, 1 << 30), 0)
        let drift = try workspace.run(["drift"])
        XCTAssertEqual(drift.status, 2, drift.stderr)
        XCTAssertTrue(drift.stderr.contains("render record: out/.inject-secrets-state.json is 1073741824 bytes, more than the limit"), drift.stderr)

        XCTAssertEqual(truncate(workspace.url("inject-secrets.lock").path, 1 << 30), 0)
        let validate = try workspace.run(["validate"])
        XCTAssertEqual(validate.status, 2, validate.stderr)
        XCTAssertTrue(validate.stderr.contains("inject-secrets.lock is 1073741824 bytes, more than the limit"), validate.stderr)
    }

    /// FIFOs, folders and links where a file is read get a message that names them; nothing hangs.
    func testSpecialFilesAsStoreOrLockAreNamedAndNeverBlock() throws {
        try project(functions: 1, value: workspace.canary("fifo"))
        try FileManager.default.removeItem(at: workspace.url("store.yaml"))
        XCTAssertEqual(mkfifo(workspace.url("store.yaml").path, 0o600), 0)
        let store = try workspace.run(["render"])
        XCTAssertEqual(store.status, 3, store.stderr)
        XCTAssertTrue(store.stderr.contains("cannot read store.yaml: it is a FIFO, not a file"), store.stderr)

        try FileManager.default.removeItem(at: workspace.url("store.yaml"))
        try FileManager.default.createDirectory(at: workspace.url("store.yaml"), withIntermediateDirectories: false)
        let folder = try workspace.run(["render"])
        XCTAssertTrue(folder.stderr.contains("cannot read store.yaml: it is a directory, not a file"), folder.stderr)

        XCTAssertEqual(mkfifo(workspace.url("inject-secrets.lock").path, 0o600), 0)
        let lock = try workspace.run(["render"])
        XCTAssertEqual(lock.status, 2, lock.stderr)
        XCTAssertTrue(lock.stderr.contains("inject-secrets.lock is a FIFO, not a file"), lock.stderr)
        for result in [store, folder, lock] { XCTAssertFalse(result.stderr.contains("NSCocoaErrorDomain"), result.stderr) }

        try FileManager.default.removeItem(at: workspace.url("inject-secrets.lock"))
        try FileManager.default.createSymbolicLink(at: workspace.url("inject-secrets.lock"), withDestinationURL: outside.appendingPathComponent("x"))
        let linked = try workspace.run(["render"])
        XCTAssertEqual(linked.status, 2, linked.stderr)
        XCTAssertTrue(linked.stderr.contains("inject-secrets.lock is a symbolic link"), linked.stderr)
    }

    // MARK: All or nothing includes the lock

    /// A lock that cannot be replaced (a folder in its place) leaves the old outputs, not new outputs
    /// beside the old lock.
    func testALockThatCannotBeWrittenLeavesTheOldOutputs() throws {
        let old = workspace.canary("old"), new = workspace.canary("new")
        try project(functions: 3, value: old)
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        let lockBefore = try XCTUnwrap(workspace.lock)
        try workspace.write(["store.yaml": store(version: "2", value: new)])
        try FileManager.default.removeItem(at: workspace.url("inject-secrets.lock"))
        try FileManager.default.createDirectory(at: workspace.url("inject-secrets.lock"), withIntermediateDirectories: false)

        let result = try workspace.run(["render"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("inject-secrets.lock"), result.stderr)
        for index in 0..<3 { XCTAssertEqual(workspace.read("out/fn\(index).env"), "DB=\"\(old)\"\n") }
        XCTAssertEqual(debris(in: workspace.directory), [])

        try FileManager.default.removeItem(at: workspace.url("inject-secrets.lock"))
        try Data(lockBefore.utf8).write(to: workspace.url("inject-secrets.lock"))
        XCTAssertEqual(try workspace.run(["render"]).status, 0)
        XCTAssertEqual(workspace.read("out/fn2.env"), "DB=\"\(new)\"\n")
        XCTAssertEqual(try workspace.run(["drift"]).status, 0)
    }
}

/// Temporary files, backups and journals a commit may leave, below `directory`.
func debris(in directory: URL) -> [String] {
    let all = (FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String]) ?? []
    return all.filter {
        let name = ($0 as NSString).lastPathComponent
        return name.contains(".inject-secrets-new-") || name.contains(".inject-secrets-old-")
            || name.hasPrefix(".inject-secrets-commit")
    }.sorted()
}

/// A flag shared with a helper thread, and a way to wait until the thread has seen it.
final class Atomic: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private let done = DispatchSemaphore(value: 0)

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
    func acknowledge() { done.signal() }
    func waitForAcknowledgement() { done.wait() }
}
