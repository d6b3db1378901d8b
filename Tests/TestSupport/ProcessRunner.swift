import Foundation

/// The result of running a program to completion.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    /// stdout and stderr together, for canary scans.
    public var allOutput: String { stdout + "\n" + stderr }
}

/// Runs a program with arguments, environment and working directory, stdin closed, and collects its output.
@discardableResult
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    currentDirectory: URL? = nil, timeout: TimeInterval = 600
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try resolveExecutable(executable))
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes while the process runs so a full pipe cannot block it.
    let group = DispatchGroup()
    // Each written by its own reader, and read only after `group.wait()`, which orders the two.
    nonisolated(unsafe) var outData = Data(), errData = Data()
    group.enter()
    DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        throw TestSupportError("\(executable) \(arguments.joined(separator: " ")) timed out after \(Int(timeout))s")
    }
    process.waitUntilExit()
    group.wait()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// Finds a program on PATH (or returns an absolute path as is).
public func resolveExecutable(_ name: String) throws -> String {
    if name.contains("/") { return name }
    if let found = which(name) { return found }
    throw TestSupportError("\(name) not found on PATH")
}

public func which(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Whether this run is CI, where a missing server is a failure, not a skip.
public var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

/// What a test does when a server it needs cannot be found: say so loudly, and under CI fail.
/// Returns the message to skip with, or throws under CI.
public func missingServer(_ what: String, install: String) throws -> String {
    let message = "SERVER MISSING: \(what) is not installed (\(install)); the tests that need it did NOT run"
    FileHandle.standardError.write(Data(("\n*** " + message + " ***\n").utf8))
    if isCI { throw TestSupportError(message + " (CI=true makes this a failure)") }
    return message
}
