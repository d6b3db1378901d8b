import ArgumentParser
import Foundation
import InjectSecretsKit
import InjectSecretsCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Rotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a new version of a secret to its store, then name the functions now stale.",
        discussion: """
            NAME is the secret's name under 'secrets:' in the manifest. The new version becomes the
            store's current one; the lock is not touched, so drift then reports the rotation and the
            functions to re-render. The value is never printed.

            --due rotates every secret whose rotation-overdue drift holds: with its rotation.generate,
            or, for a Secrets Manager secret with RotationEnabled, by RotateSecret (the store's rotation
            function makes the value; --rotation-wait bounds the wait for AWSCURRENT to move). Exit 0
            only when every due rotation succeeded; a due secret with no way to get a value is named,
            exit 1. --dry-run says what --due would do. Without a value, rotate NAME uses RotateSecret
            the same way where the store rotates the secret itself.

            --value-from-file PATH reads the value from a file (one trailing newline is dropped);
            PATH '-' reads stdin, never under the SwiftPM plugin (its stdin is closed) nor from a
            terminal. --generate N writes N random characters from the URL-safe alphabet
            A-Z a-z 0-9 - _. A JSON-object secret changes one field with --key FIELD.

            Stores that can be written: file, vault (a KV write with check-and-set on the version read),
            aws-secrets-manager (PutSecretValue), aws-ssm (PutParameter, keeping its type and key),
            azure-key-vault (Set Secret).
            """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var timeout: TimeoutOptions
    @OptionGroup var audit: AuditOptions

    @Argument(help: ArgumentHelp("The secret, as named under 'secrets:'.", valueName: "name"))
    var name: String?

    @Flag(name: .long, help: "Rotate every secret past its rotation policy's limit.")
    var due = false

    @Flag(name: .long, help: "With --due: print what would be rotated, and how; write nothing.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("How long to wait for a store's own rotation to move the current version (default \(Int(DueRotation.defaultWait))).", valueName: "seconds"))
    var rotationWait: Double?

    @Option(name: .long, help: ArgumentHelp("Read the new value from this file; '-' reads stdin.", valueName: "path"))
    var valueFromFile: String?

    @Option(name: .long, help: ArgumentHelp("Generate a random value of this many characters.", valueName: "n"))
    var generate: Int?

    @Option(name: .long, help: ArgumentHelp("Change only this field of a JSON-object secret.", valueName: "field"))
    var key: String?

    /// The largest value read from a file: Secrets Manager's limit, generous for the other stores.
    static let maxValueBytes = 65_536

    func validate() throws {
        if due {
            if name != nil { throw ValidationError("--due rotates every due secret; give no NAME") }
            if valueFromFile != nil || generate != nil || key != nil {
                throw ValidationError("--due takes each secret's value from its rotation policy; --value-from-file, --generate and --key go with NAME")
            }
        } else {
            if name == nil { throw ValidationError("give the secret's NAME, or --due for every secret past its rotation limit") }
            if dryRun { throw ValidationError("--dry-run goes with --due") }
            if key != nil && valueFromFile == nil && generate == nil {
                throw ValidationError("--key names the field a new value goes into; give it with --value-from-file PATH or --generate N")
            }
        }
        if valueFromFile != nil && generate != nil {
            throw ValidationError("--value-from-file and --generate exclude each other; give one")
        }
        if let rotationWait, !(rotationWait >= 1 && rotationWait <= 3_600) {
            throw ValidationError("--rotation-wait takes 1 to 3600 seconds")
        }
    }

    func run() async throws {
        var options = common.runOptions()
        timeout.apply(to: &options)
        audit.apply(to: &options)
        let wait = rotationWait ?? DueRotation.defaultWait
        if due { return try await runDue(options, wait: wait) }
        let name = name!
        var value: NewSecretValue?
        if let length = generate {
            value = .generated(length: length)
        } else if let valueFromFile {
            value = .given(try readValue(valueFromFile))
        }
        let report = try await Progress.during("rotate \(name)") { [options, value] in
            try await InjectSecrets(registry: .standard).rotate(options, secret: name, key: key, value: value, rotationWait: wait)
        }
        switch common.format {
        case .json:
            var members: [String: JSONValue] = [
                "secret": .string(report.secret), "provider": .string(report.provider), "id": .string(report.id),
                "previous": .string(report.previous), "version": .string(report.version),
                "stale": .array(report.staleFunctions.map(JSONValue.string)),
                "drift": .array(report.drift.map { $0.json() }),
                "notes": .array(report.notes.map(JSONValue.string)),
            ]
            if let key = report.key { members["key"] = .string(key) }
            if report.storeRotation { members["method"] = .string("store") }
            printJSON(.object(members))
        case .text:
            let field = report.key.map { " (field \($0))" } ?? ""
            let how = report.storeRotation ? " by the store's own rotation" : ""
            printLine("rotated \(report.secret) (\(report.id))\(field) in provider '\(report.provider)'\(how): version \(report.previous) -> \(report.version)")
            for entry in report.drift {
                printLine("\(entry.kind.rawValue): \(entry.message) [functions: \(entry.functions.joined(separator: ", "))]")
            }
            for note in report.notes { printLine("note: \(note)") }
            if report.driftFailure.isEmpty {
                printLine(report.staleFunctions.isEmpty
                    ? "no rendered function is stale"
                    : "stale functions: \(report.staleFunctions.joined(separator: ", ")); run render, then deploy them")
            }
        }
        if !report.driftFailure.isEmpty {
            // The write happened; say why the stale functions are unknown, with the store's exit code.
            throw InjectSecretsError(.storeFailure, [.init(.note, "the new version \(report.version) was written; the stale functions could not be worked out:")] + report.driftFailure)
        }
    }

    /// Reads the new value from a file or stdin; never echoes it.
    func readValue(_ path: String) throws -> SecretValue {
        let data: Data
        if path == "-" {
            if ProcessInfo.processInfo.environment["INJECT_SECRETS_UNDER_PLUGIN"] != nil {
                throw InjectSecretsError.badInput("--value-from-file - reads stdin, which the SwiftPM plugin closes; use --value-from-file PATH, or run the inject-secrets executable")
            }
            if fcntl(STDIN_FILENO, F_GETFD) == -1 {
                throw InjectSecretsError.badInput("--value-from-file -: stdin is closed; pipe the value in, or use --value-from-file PATH")
            }
            if isatty(STDIN_FILENO) == 1 {
                throw InjectSecretsError.badInput("--value-from-file -: stdin is a terminal, where the value would show as you type; pipe it in, or use --value-from-file PATH")
            }
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            do {
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                if let size = attributes[.size] as? Int, size > Self.maxValueBytes {
                    throw InjectSecretsError.badInput("--value-from-file \(path): the file is \(size) bytes; a secret value is at most \(Self.maxValueBytes)")
                }
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch let error as InjectSecretsError {
                throw error
            } catch {
                throw InjectSecretsError.badInput("--value-from-file: cannot read \(path): \((error as NSError).localizedFailureReason ?? "no such file or not readable")")
            }
        }
        let source = path == "-" ? "stdin" : path
        guard data.count <= Self.maxValueBytes else {
            throw InjectSecretsError.badInput("--value-from-file \(source): more than \(Self.maxValueBytes) bytes; a secret value is at most that")
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw InjectSecretsError.badInput("--value-from-file \(source): the value is not UTF-8 text")
        }
        if text.hasSuffix("\r\n") { text.removeLast(1) } else if text.hasSuffix("\n") { text.removeLast() }
        // "\r\n" is one Character in Swift, so removeLast(1) drops both.
        guard !text.isEmpty else { throw InjectSecretsError.badInput("--value-from-file \(source): the value is empty") }
        return SecretValue(text)
    }
}
