import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A free TCP port on 127.0.0.1, found by binding port 0 and reading what the kernel chose.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSupportError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw TestSupportError("bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw TestSupportError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
public func isListening(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return result == 0
}

/// A server process the tests start on a loopback port and stop by its own PID.
public final class LoopbackServer: @unchecked Sendable {
    public let port: Int
    public let process: Process
    public let logURL: URL

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts `executable` and waits until it listens on `port`. Its output goes to a log file that is
    /// shown if it fails to start.
    public init(
        executable: String, arguments: [String], port: Int, environment: [String: String] = [:],
        startupTimeout: TimeInterval = 60
    ) throws {
        self.port = port
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolveExecutable(executable))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let log = FileManager.default.temporaryDirectory
            .appendingPathComponent("inject-secrets-server-\(port)-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        self.process = process
        self.logURL = log
        try process.run()
        let deadline = Date().addingTimeInterval(startupTimeout)
        while !isListening(port: port) {
            if !process.isRunning {
                throw TestSupportError("\(executable) exited before listening on \(port):\n\(logTail())")
            }
            if Date() > deadline {
                stop()
                throw TestSupportError("\(executable) did not listen on \(port) within \(Int(startupTimeout))s:\n\(logTail())")
            }
            usleep(50_000)
        }
    }

    public func logTail(_ bytes: Int = 4000) -> String {
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        return String(text.suffix(bytes))
    }

    /// Stops the server by its PID: SIGTERM, then SIGKILL if it lingers.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}
