import ArgumentParser
import Foundation
import InjectSecretsKit
import InjectSecretsCore

/// One row of a CI report: a drift entry or an error, with where it points in the manifest.
struct CIFinding {
    var kind: String
    /// The secret or output it is about, or the place of an error.
    var subject: String
    var functions: [String]
    var message: String
    var location: SourceLocation?

    init(_ entry: DriftReport.Entry) {
        kind = entry.kind.rawValue
        subject = entry.secret ?? entry.output ?? entry.functions.joined(separator: ", ")
        functions = entry.functions
        message = entry.message
        location = entry.location
    }

    init(_ diagnostic: Diagnostic) {
        kind = diagnostic.severity.rawValue
        subject = diagnostic.location?.description ?? ""
        functions = []
        message = diagnostic.message
        location = diagnostic.location
    }
}

/// GitHub Actions: `::error` workflow commands on stdout, which the runner turns into annotations on the
/// manifest's lines, and a markdown table appended to the job's step summary. Active only when
/// GITHUB_ACTIONS=true.
enum GitHubActions {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var isActive: Bool { environment["GITHUB_ACTIONS"] == "true" }

    /// Whether this run prints a JSON document on stdout (`--format json`).
    static var printsJSON: Bool {
        let arguments = CommandLine.arguments.prefix { $0 != "--" }
        return arguments.contains("--format=json") || zip(arguments, arguments.dropFirst()).contains { $0 == "--format" && $1 == "json" }
    }

    /// Prints one annotation per finding and appends the table to $GITHUB_STEP_SUMMARY. The commands go
    /// to stdout, except with `--format json`, where stdout is the JSON document a pipeline parses: then
    /// they go to stderr, which the runner reads for workflow commands as well.
    static func report(_ findings: [CIFinding], title: String, cleanMessage: String? = nil) {
        guard isActive else { return }
        let commands = annotations(findings).map { $0 + "\n" }.joined()
        if printsJSON {
            FileHandle.standardError.write(Data(commands.utf8))
        } else {
            print(commands, terminator: "")
        }
        appendSummary(findings, title: title, cleanMessage: cleanMessage)
    }

    /// GitHub shows at most 10 error annotations a step and drops the rest without a word: the first 9
    /// findings, then one that says how many more there are and where they all are.
    static let annotationLimit = 10

    static func annotations(_ findings: [CIFinding]) -> [String] {
        guard findings.count > annotationLimit else { return findings.map(command(for:)) }
        let shown = findings.prefix(annotationLimit - 1)
        let rest = findings.count - shown.count
        let more = "\(rest) more finding\(rest == 1 ? "" : "s") not annotated (GitHub shows \(annotationLimit) a step); "
            + "all \(findings.count) are in the command's output and in a JUnit report (--report junit PATH)"
        return shown.map(command(for:)) + ["::error title=" + escapeProperty("inject-secrets") + "::" + escapeData(more)]
    }

    /// `::error file=F,line=L,col=C::MESSAGE`, escaped as @actions/core escapes them.
    static func command(for finding: CIFinding) -> String {
        var properties: [String] = []
        if let location = finding.location {
            properties.append("file=" + escapeProperty(repositoryPath(location.path)))
            properties.append("line=\(location.line)")
            properties.append("col=\(location.column)")
        }
        let title = finding.kind == "error" ? "inject-secrets" : "inject-secrets: \(finding.kind)"
        properties.append("title=" + escapeProperty(title))
        var message = finding.message
        if !finding.functions.isEmpty { message += " [functions: \(finding.functions.joined(separator: ", "))]" }
        return "::error " + properties.joined(separator: ",") + "::" + escapeData(message)
    }

    /// The toolkit's `escapeData`: %, CR and LF; any other control character in an id or a path is
    /// escaped visibly first, so the runner sees one command on one line.
    static func escapeData(_ text: String) -> String {
        var visible = ""
        for character in text {
            switch character {
            case "\r\n": visible += "\r\n"
            case "\r", "\n": visible.append(character)
            default: visible += String(character).controlCharactersEscaped
            }
        }
        return visible.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }

    /// The toolkit's `escapeProperty`: also `:` and `,`, which separate properties.
    static func escapeProperty(_ text: String) -> String {
        escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }

    /// Annotations need a path relative to the repository: an absolute path below GITHUB_WORKSPACE
    /// (the plugin passes one) is made relative to it.
    static func repositoryPath(_ path: String) -> String {
        guard path.hasPrefix("/"), let workspace = environment["GITHUB_WORKSPACE"], !workspace.isEmpty else { return path }
        let base = workspace.hasSuffix("/") ? workspace : workspace + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    static func appendSummary(_ findings: [CIFinding], title: String, cleanMessage: String?) {
        guard let path = environment["GITHUB_STEP_SUMMARY"], !path.isEmpty else { return }
        var text = "### \(title)\n\n"
        if findings.isEmpty {
            text += (cleanMessage ?? "nothing to report") + "\n\n"
        } else {
            text += "| kind | secret/output | functions | message |\n|---|---|---|---|\n"
            var bytes = text.utf8.count
            let limit = summaryLimit(appendingTo: path)
            for (index, finding) in findings.enumerated() {
                let cells = [finding.kind, finding.subject, finding.functions.joined(separator: ", "), finding.message]
                let row = "| " + cells.map(cell).joined(separator: " | ") + " |\n"
                // Room is kept for the cut line, whose count of rows has at most as many digits as this one.
                if bytes + row.utf8.count + cutLine(findings.count - index).utf8.count > limit {
                    text += cutLine(findings.count - index)
                    break
                }
                text += row
                bytes += row.utf8.count
            }
            text += "\n"
        }
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            FileManager.default.createFile(atPath: path, contents: nil) ? FileHandle(forWritingAtPath: path) : nil
        }() else {
            FileHandle.standardError.write(Data("warning: cannot append to GITHUB_STEP_SUMMARY (\(path))\n".utf8))
            return
        }
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
    }

    /// GitHub drops a whole step summary over 1 MiB: this run's table stays under 512 KiB, and under
    /// what is left of 1 MiB after what earlier commands of the step wrote, so a step that runs the tool
    /// twice keeps its summary too.
    static func summaryLimit(appendingTo path: String) -> Int {
        let written = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return max(0, min(512 * 1024, 1024 * 1024 - 4096 - written))
    }

    static func cutLine(_ rows: Int) -> String {
        "\n**Cut here: \(rows) more row\(rows == 1 ? "" : "s") would pass GitHub's 1 MiB step summary limit;** "
            + "the JUnit report (`--report junit PATH`) and the command's output hold them all.\n"
    }

    /// A table cell: pipes escaped, line breaks as <br>, HTML-significant characters as entities.
    static func cell(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "|": out += "\\|"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\n", "\r\n", "\r": out += "<br>"
            case "`": out += "\\`"
            default: out += String(character).controlCharactersEscaped
            }
        }
        return out.isEmpty ? " " : out
    }
}

/// A JUnit XML report (`--report junit PATH`), as GitLab and Jenkins read them: one test case per
/// secret and output checked, a failure per drift entry or error.
struct JUnitReport {
    struct TestCase {
        var classname: String
        var name: String
        var failures: [(type: String, message: String, detail: String)] = []
    }

    var suite: String
    var cases: [TestCase] = []

    /// One case per secret and output of a drift report, failing with each entry about it.
    init(drift report: DriftReport) {
        suite = "inject-secrets drift" + (report.environment.map { " (\($0))" } ?? "")
        for secret in report.checkedSecrets {
            var testCase = TestCase(classname: "inject-secrets.secrets", name: secret)
            for entry in report.entries where entry.secret == secret {
                testCase.failures.append((entry.kind.rawValue, entry.message, Self.detail(entry)))
            }
            cases.append(testCase)
        }
        for function in report.checkedDeployments {
            var testCase = TestCase(classname: "inject-secrets.deployments", name: function)
            for entry in report.entries where entry.secret == nil && entry.output == nil && entry.functions == [function] {
                testCase.failures.append((entry.kind.rawValue, entry.message, Self.detail(entry)))
            }
            cases.append(testCase)
        }
        for output in report.checkedOutputs {
            var testCase = TestCase(classname: "inject-secrets.outputs", name: output)
            for entry in report.entries where entry.output == output {
                testCase.failures.append((entry.kind.rawValue, entry.message, Self.detail(entry)))
            }
            cases.append(testCase)
        }
    }

    /// One passing case per secret and output of a valid manifest.
    init(validation report: ValidationReport) {
        suite = "inject-secrets validate"
        cases = report.secretNames.map { TestCase(classname: "inject-secrets.secrets", name: $0) }
            + report.outputPaths.map { TestCase(classname: "inject-secrets.outputs", name: $0) }
        if cases.isEmpty { cases = [TestCase(classname: "inject-secrets.manifest", name: report.manifest)] }
    }

    /// A run that failed before it could check anything item by item: one failing case per error.
    init(suite: String, errors: [Diagnostic]) {
        self.suite = suite
        cases = errors.map { diagnostic in
            TestCase(
                classname: "inject-secrets.manifest", name: diagnostic.location?.description ?? "run",
                failures: [(diagnostic.severity.rawValue, diagnostic.message, diagnostic.description)])
        }
    }

    static func detail(_ entry: DriftReport.Entry) -> String {
        var lines = ["kind: \(entry.kind.rawValue)", "functions: \(entry.functions.joined(separator: ", "))"]
        if let locked = entry.locked { lines.append("locked: \(locked)") }
        if let current = entry.current { lines.append("current: \(current)") }
        if let location = entry.location { lines.append("declared at: \(location)") }
        return lines.joined(separator: "\n")
    }

    /// Ids, paths and messages with their control characters escaped; the lines of a detail stay lines.
    static func text(_ raw: String) -> String {
        escape(raw.split(separator: "\n", omittingEmptySubsequences: false).map { String($0).controlCharactersEscaped }.joined(separator: "\n"))
    }

    var xml: String {
        let failures = cases.filter { !$0.failures.isEmpty }.count
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"inject-secrets\" tests=\"\(cases.count)\" failures=\"\(failures)\" errors=\"0\">\n"
        out += "  <testsuite name=\"\(Self.escape(suite.controlCharactersEscaped))\" tests=\"\(cases.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"0\">\n"
        for testCase in cases {
            let head = "    <testcase classname=\"\(Self.escape(testCase.classname))\" name=\"\(Self.escape(testCase.name.controlCharactersEscaped))\""
            if testCase.failures.isEmpty {
                out += head + "/>\n"
                continue
            }
            out += head + ">\n"
            for failure in testCase.failures {
                out += "      <failure type=\"\(Self.escape(failure.type))\" message=\"\(Self.escape(failure.message.controlCharactersEscaped))\">"
                out += Self.text(failure.detail) + "</failure>\n"
            }
            out += "    </testcase>\n"
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }

    /// XML text and attribute escaping; characters XML 1.0 cannot hold at all become U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            case "\t": out += "&#9;"
            default:
                let value = scalar.value
                let allowed = (0x20...0xD7FF).contains(value) || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
                out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return out
    }

    func write(to path: String) throws {
        do {
            try Data(xml.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw InjectSecretsError.badInput("--report junit: cannot write \(path): \((error as NSError).localizedFailureReason ?? "\(error)")")
        }
    }
}

/// `--report junit PATH`, for `drift` and `validate`.
struct ReportOptions: ParsableArguments {
    @Option(
        name: .long, parsing: .upToNextOption,
        help: ArgumentHelp("Also write a report: 'junit PATH' writes JUnit XML for GitLab and Jenkins.", valueName: "junit path"))
    var report: [String] = []

    func validate() throws {
        guard report.isEmpty || (report.count == 2 && report[0] == "junit") else {
            throw ValidationError("--report takes a format and a path: --report junit PATH")
        }
    }

    var junitPath: String? { report.count == 2 ? report[1] : nil }
}
