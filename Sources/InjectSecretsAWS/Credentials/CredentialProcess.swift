import Foundation
import InjectSecretsKit

/// A profile's `credential_process`: a command whose standard output is the credentials, as JSON:
/// `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"?}`.
///
/// As botocore does: the command line is split like a POSIX shell would split it (`shlex.split`) and run
/// directly, never through a shell; a non-zero exit is an error that shows the command's stderr. Unlike
/// botocore, stdin is closed (the plugin has none to give), the run is bounded by `timeout`, and stderr is
/// quoted only after any key or token the command printed on stdout is taken out of it.
struct CredentialProcess: Sendable {
    var command: String
    /// "credential_process of profile 'dev' in the AWS config file /home/u/.aws/config [profile dev]".
    var source: String
    var environment: [String: String]
    var timeout: TimeInterval = 120

    func credentials() async throws -> AWSCredentials {
        let argv: [String]
        do {
            argv = try shellSplit(command)
        } catch {
            throw ProviderFailure(.configuration, "\(source) cannot be split into a command and arguments: \(error)")
        }
        guard let program = argv.first else {
            throw ProviderFailure(.configuration, "\(source) is empty")
        }
        guard let executable = Self.resolve(program, path: environment["PATH"]) else {
            throw ProviderFailure(.configuration, "\(source): the program '\(program)' was not found (on PATH, or as a path)")
        }
        let result: (status: Int32, stdout: Data, stderr: Data)
        do {
            result = try await Self.run(executable, Array(argv.dropFirst()), environment: environment, timeout: timeout)
        } catch let failure as ProviderFailure {
            throw ProviderFailure(failure.kind, "\(source): \(failure.message)")
        } catch {
            throw ProviderFailure(.configuration, "\(source): '\(program)' could not be started: \(error.localizedDescription)")
        }
        let json = try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let printedSecrets = [json?["SecretAccessKey"] as? String, json?["SessionToken"] as? String]
        guard result.status == 0 else {
            let stderr = RelayedText.line(
                RunRedactor.scrub(String(decoding: result.stderr, as: UTF8.self), hiding: printedSecrets))
            throw ProviderFailure(
                .authentication,
                "\(source): '\(program)' exited with status \(result.status)" + (stderr.isEmpty ? " and wrote nothing to stderr" : ": \(stderr)"))
        }
        guard let json else {
            throw ProviderFailure(.invalidResponse, "\(source): '\(program)' did not print a JSON object on stdout")
        }
        // A number equal to 1 (botocore compares with `!= 1`); the string "1" is not.
        guard let version = json["Version"] as? NSNumber, version.doubleValue == 1 else {
            let shown = json["Version"].map { "\($0)" } ?? "none"
            throw ProviderFailure(.invalidResponse, "\(source): unsupported output Version '\(shown)'; credential_process output must have \"Version\": 1")
        }
        guard let accessKeyId = json["AccessKeyId"] as? String, !accessKeyId.isEmpty,
            let secretAccessKey = json["SecretAccessKey"] as? String, !secretAccessKey.isEmpty
        else {
            throw ProviderFailure(.invalidResponse, "\(source): the output lacks AccessKeyId or SecretAccessKey")
        }
        var expiration: Date? = nil
        if let text = json["Expiration"] as? String {
            guard let date = parseAWSTimestamp(text) else {
                throw ProviderFailure(.invalidResponse, "\(source): Expiration '\(text)' is not an ISO-8601 time")
            }
            expiration = date
        }
        let token = (json["SessionToken"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey, sessionToken: token, expiration: expiration)
    }

    static func resolve(_ program: String, path: String?) -> String? {
        if program.contains("/") {
            return FileManager.default.isExecutableFile(atPath: program) ? program : nil
        }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs without a shell, stdin closed, both pipes drained while it runs; kills it after `timeout`.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], timeout: TimeInterval
    ) async throws -> (status: Int32, stdout: Data, stderr: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        // @unchecked: the mutable state is private and is read and written only under `lock`
        // (`Synchronization.Mutex` needs macOS 15; this package supports macOS 13).
        final class Box: @unchecked Sendable {
            private let lock = NSLock()
            private var _stdout = Data(), _stderr = Data(), _timedOut = false
            var stdout: Data {
                get { lock.lock(); defer { lock.unlock() }; return _stdout }
                set { lock.lock(); _stdout = newValue; lock.unlock() }
            }
            var stderr: Data {
                get { lock.lock(); defer { lock.unlock() }; return _stderr }
                set { lock.lock(); _stderr = newValue; lock.unlock() }
            }
            var timedOut: Bool {
                get { lock.lock(); defer { lock.unlock() }; return _timedOut }
                set { lock.lock(); _timedOut = newValue; lock.unlock() }
            }
        }
        let box = Box()
        let group = DispatchGroup()
        group.enter()
        group.enter()
        // Blocking reads run on their own threads, not on Dispatch's global pool: with few cores that pool
        // can be exhausted by the two reads, and then nothing else (the timeout) would ever run.
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in
                Thread.detachNewThread {
                    // A grandchild that kept the pipes open must not hold the run: give the readers 2 s.
                    _ = group.wait(timeout: .now() + 2)
                    if box.timedOut {
                        continuation.resume(
                            throwing: ProviderFailure(.unreachable, "'\(executable)' did not finish within \(Int(timeout)) s and was stopped"))
                    } else {
                        continuation.resume(returning: (finished.terminationStatus, box.stdout, box.stderr))
                    }
                }
            }
            do {
                try process.run()
            } catch {
                group.leave()
                group.leave()
                continuation.resume(throwing: error)
                return
            }
            Thread.detachNewThread { box.stdout = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
            Thread.detachNewThread { box.stderr = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(timeout)
                while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
                guard process.isRunning else { return }
                box.timedOut = true
                process.terminate()
                // SIGTERM can be ignored (an inherited disposition, a trap): SIGKILL cannot.
                let grace = Date().addingTimeInterval(2)
                while process.isRunning && Date() < grace { Thread.sleep(forTimeInterval: 0.02) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
        }
    }
}
