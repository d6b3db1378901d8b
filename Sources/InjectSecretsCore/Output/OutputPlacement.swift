import Foundation
import InjectSecretsKit

/// Checks, before any store is read, that render may put each output where the manifest says:
///
/// - not into a git work tree where git would track it (not ignored, or already tracked), unless
///   `--allow-tracked-outputs`; the error says which line to add to `.gitignore`. No git, or a folder
///   outside any work tree, is fine.
/// - not through a symbolic link that leads out of the manifest's folder (a linked parent folder), unless
///   `--allow-outside-output-paths`. This check gives the early, located error; what makes a link swapped
///   in later harmless is `OutputWriter`, which writes only through directory descriptors and refuses a
///   link at the output path itself.
enum OutputPlacement {
    struct Target {
        var function: String
        var output: OutputDefinition
    }

    static func check(_ targets: [Target], manifest: Manifest, options: RunOptions) throws {
        var diagnostics = DiagnosticCollector()
        if !options.allowOutsideOutputPaths {
            checkLinkedFolders(targets, manifest: manifest, diagnostics: &diagnostics)
        }
        if !options.allowTrackedOutputs {
            checkTracked(targets, manifest: manifest, environment: options.processEnvironment, diagnostics: &diagnostics)
        }
        try diagnostics.throwIfErrors()
    }

    // MARK: Linked folders

    /// The deepest folder of `url` that exists, with symbolic links resolved.
    static func existingAncestor(of url: URL) -> URL {
        var folder = url.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.path) && folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder
    }

    static func realPath(_ url: URL) -> String {
        guard let resolved = realpath(url.path, nil) else { return url.standardizedFileURL.path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The existing ancestor of outputs and its real path, looked up once per folder: hundreds of
    /// outputs usually share one or two folders.
    struct ExistingFolders {
        private var known: [String: (existing: URL, real: String)] = [:]

        mutating func of(_ url: URL) -> (existing: URL, real: String) {
            let path = url.path
            let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? path
            if let found = known[folder] { return found }
            let existing = existingAncestor(of: url)
            let found = (existing, realPath(existing))
            known[folder] = found
            return found
        }
    }

    static func checkLinkedFolders(_ targets: [Target], manifest: Manifest, diagnostics: inout DiagnosticCollector) {
        let base = realPath(manifest.directory)
        var folders = ExistingFolders()
        for target in targets {
            let (folder, real) = folders.of(target.output.url)
            guard real != base && !real.hasPrefix(base + "/") else { continue }
            diagnostics.error(
                "refusing to write '\(target.output.path)' of function '\(target.function)': the folder \(manifest.relativePath(folder)) leads through a symbolic link to \(real), outside the manifest's folder; remove the link or pass --allow-outside-output-paths",
                at: target.output.location)
        }
    }

    // MARK: Git

    static func checkTracked(_ targets: [Target], manifest: Manifest, environment: [String: String], diagnostics: inout DiagnosticCollector) {
        guard let git = Git.find(environment) else { return }
        // Group by work tree: one `check-ignore` and one `ls-files` per repository.
        var byRoot: [String: [(target: Target, relative: String)]] = [:]
        var roots: [String: String?] = [:]
        var folders = ExistingFolders()
        for target in targets {
            let (existing, folder) = folders.of(target.output.url)
            let root: String?
            if let known = roots[folder] {
                root = known
            } else {
                root = git.workTreeRoot(at: folder)
                roots[folder] = root
            }
            guard let root else { continue }
            // The output's path in the work tree, through the real path of its existing part.
            let rest = String(target.output.url.standardizedFileURL.path.dropFirst(existing.standardizedFileURL.path.count))
            let real = folder + rest
            guard real.hasPrefix(root + "/") else { continue }
            byRoot[root, default: []].append((target, String(real.dropFirst(root.count + 1))))
        }
        for (root, entries) in byRoot.sorted(by: { $0.key < $1.key }) {
            let paths = entries.map(\.relative)
            guard let ignored = git.ignored(paths, root: root), let tracked = git.tracked(paths, root: root) else { continue }
            for (target, relative) in entries {
                let gitignore = (root as NSString).appendingPathComponent(".gitignore")
                let line = ignoreLine(for: target.output, relative: relative, manifest: manifest, root: root)
                if tracked.contains(relative) {
                    diagnostics.error(
                        "refusing to write '\(target.output.path)' of function '\(target.function)': git tracks it (\(relative) in \(root)); run 'git rm --cached \(shellQuoted(relative))' and add the line '\(line)' to \(gitignore), or pass --allow-tracked-outputs",
                        at: target.output.location)
                } else if !ignored.contains(relative) {
                    diagnostics.error(
                        "refusing to write '\(target.output.path)' of function '\(target.function)': git would track it (\(relative) is in the work tree \(root) and not ignored); add the line '\(line)' to \(gitignore), or pass --allow-tracked-outputs",
                        at: target.output.location)
                }
            }
        }
    }

    /// The `.gitignore` line to suggest: the output folder when the output is in it, else the file.
    static func ignoreLine(for output: OutputDefinition, relative: String, manifest: Manifest, root: String) -> String {
        let outputFolder = manifest.outputDirectory.standardizedFileURL.path
        let file = output.url.standardizedFileURL.path
        if file.hasPrefix(outputFolder + "/") {
            let folderDepth = outputFolder.split(separator: "/").count
            let fileDepth = file.split(separator: "/").count
            let components = relative.split(separator: "/")
            let folder = components.dropLast(fileDepth - folderDepth).joined(separator: "/")
            if !folder.isEmpty { return "/" + folder + "/" }
        }
        return "/" + relative
    }

    static func shellQuoted(_ text: String) -> String {
        text.allSatisfy { $0.isLetter || $0.isNumber || "/._-".contains($0) } ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The few git questions the output check asks, through the `git` on PATH. Any failure to run git
/// (not installed, not a work tree, a broken repository) answers nil: the check is then skipped.
struct Git {
    let executable: String

    static func find(_ environment: [String: String]) -> Git? {
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/git"
            if FileManager.default.isExecutableFile(atPath: candidate) { return Git(executable: candidate) }
        }
        return nil
    }

    /// The top of the work tree holding `folder`, or nil when it is in none.
    func workTreeRoot(at folder: String) -> String? {
        guard let result = run(["-C", folder, "rev-parse", "--is-inside-work-tree", "--show-toplevel"]), result.status == 0 else { return nil }
        let lines = result.output.split(separator: "\n").map(String.init)
        guard lines.first == "true", lines.count >= 2 else { return nil }
        return OutputPlacement.realPath(URL(fileURLWithPath: lines[1]))
    }

    /// The paths (relative to `root`) that git ignores.
    func ignored(_ paths: [String], root: String) -> Set<String>? {
        guard let result = run(["-C", root, "check-ignore", "--no-index", "-z", "--stdin"], input: paths.joined(separator: "\u{0}") + "\u{0}"),
            result.status == 0 || result.status == 1
        else { return nil }
        return Set(result.output.split(separator: "\u{0}").map(String.init))
    }

    /// The paths (relative to `root`) that git tracks now.
    func tracked(_ paths: [String], root: String) -> Set<String>? {
        guard let result = run(["-C", root, "ls-files", "-z", "--"] + paths.map { ":(literal)" + $0 }), result.status == 0 else { return nil }
        return Set(result.output.split(separator: "\u{0}").map(String.init))
    }

    func run(_ arguments: [String], input: String? = nil) -> (status: Int32, output: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["LC_ALL"] = "C"
        process.environment = environment
        let output = Pipe(), errors = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        do { try process.run() } catch { return nil }
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        _ = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
