import ArgumentParser
import InjectSecretsCore
import InjectSecretsKit

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the manifest and the lock offline; reads no secret.",
        discussion: "Checks the schema, references, names, output paths and Lambda limits of the manifest and of every environment overlay, and that the lock can be read. --report junit PATH writes a JUnit report (one case per secret and output, or per error).")

    @OptionGroup var common: CommonOptions
    @OptionGroup var reports: ReportOptions

    func run() throws {
        let report: ValidationReport
        do {
            report = try InjectSecrets(registry: .standard).validate(common.runOptions())
        } catch let error as InjectSecretsError {
            if let path = reports.junitPath { try JUnitReport(suite: "inject-secrets validate", errors: error.diagnostics).write(to: path) }
            throw error
        }
        if let path = reports.junitPath { try JUnitReport(validation: report).write(to: path) }
        switch common.format {
        case .json:
            printJSON(.object([
                "valid": .bool(true), "manifest": .string(report.manifest),
                "functions": .number(String(report.functions)), "secrets": .number(String(report.secrets)),
                "environments": .array(report.environments.map(JSONValue.string)), "lock": .bool(report.lockChecked),
            ]))
        case .text:
            let environments = report.environments.isEmpty ? "" : ", environments: \(report.environments.joined(separator: ", "))"
            printLine("\(report.manifest) is valid: \(report.functions) functions, \(report.secrets) secrets\(environments)" + (report.lockChecked ? "; lock readable" : "; no lock yet"))
        }
    }
}
