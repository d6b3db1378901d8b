import Foundation
import TestSupport
import XCTest
@testable import InjectSecretsCore

/// `docker-env` and `systemd-env` are read back by Swift ports of their consumers' parsers (neither has
/// a reader that runs without a daemon): every hostile value each can carry comes back byte for byte,
/// and each one it cannot carry is refused, naming the key and never the value.
final class EnvFileFormatTests: XCTestCase {
    /// `parseKeyValueFile` of docker/cli (`pkg/kvfile/kvfile.go`): `bufio.Scanner` lines (LF ends a
    /// line, a CR before it is dropped), the BOM trimmed on the first line, leading whitespace
    /// (`unicode.IsSpace`) trimmed, empty and `#` lines skipped, the rest cut at the first `=` and the
    /// value passed through untouched. Names with whitespace are an error there, and so here.
    static func dockerParse(_ data: Data) throws -> [String: String] {
        struct BadKey: Error {}
        var lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var result: [String: String] = [:]
        for (index, raw) in lines.enumerated() {
            var line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
            if index == 0, line.hasPrefix("\u{FEFF}") { line.removeFirst() }
            line = String(line.drop { $0.unicodeScalars.allSatisfy(\.properties.isWhitespace) })
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let variable = String(parts[0].drop { $0 == " " || $0 == "\t" })
            guard !variable.isEmpty, !variable.contains(" "), !variable.contains("\t") else { throw BadKey() }
            guard parts.count == 2 else { continue }  // a bare name is looked up in docker's own environment
            result[variable] = String(parts[1])
        }
        return result
    }

    /// `parse_env_file_internal` of systemd (`src/basic/env-file.c`), the states and their transitions
    /// as written there, byte by byte: WHITESPACE " \t\n\r", NEWLINE "\n\r", COMMENTS "#;",
    /// SHELL_NEED_ESCAPE "\"\\`$".
    static func systemdParse(_ data: Data) -> [String: String] {
        enum State { case preKey, key, preValue, value, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape, comment, commentEscape }
        let whitespace = Set(" \t\n\r".utf8), newline = Set("\n\r".utf8), comments = Set("#;".utf8)
        let needEscape = Set("\"\\`$".utf8)
        var state = State.preKey
        var key: [UInt8] = [], value: [UInt8] = []
        var lastKeyWhitespace: Int?, lastValueWhitespace: Int?
        var result: [String: String] = [:]
        func push() {
            if let cut = lastKeyWhitespace { key = Array(key[..<cut]) }
            result[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
            key = []; value = []
        }
        for c in data {
            switch state {
            case .preKey:
                if comments.contains(c) { state = .comment } else if !whitespace.contains(c) {
                    state = .key; lastKeyWhitespace = nil; key.append(c)
                }
            case .key:
                if newline.contains(c) { state = .preKey; key = [] } else if c == UInt8(ascii: "=") {
                    state = .preValue; lastValueWhitespace = nil
                } else {
                    if !whitespace.contains(c) { lastKeyWhitespace = nil } else if lastKeyWhitespace == nil { lastKeyWhitespace = key.count }
                    key.append(c)
                }
            case .preValue:
                if newline.contains(c) { state = .preKey; push() }
                else if c == UInt8(ascii: "'") { state = .singleQuote }
                else if c == UInt8(ascii: "\"") { state = .doubleQuote }
                else if c == UInt8(ascii: "\\") { state = .valueEscape }
                else if !whitespace.contains(c) { state = .value; value.append(c) }
            case .value:
                if newline.contains(c) {
                    state = .preKey
                    if let cut = lastValueWhitespace { value = Array(value[..<cut]) }
                    push()
                } else if c == UInt8(ascii: "\\") { state = .valueEscape; lastValueWhitespace = nil } else {
                    if !whitespace.contains(c) { lastValueWhitespace = nil } else if lastValueWhitespace == nil { lastValueWhitespace = value.count }
                    value.append(c)
                }
            case .valueEscape:
                state = .value
                if !newline.contains(c) { value.append(c) }
            case .singleQuote:
                if c == UInt8(ascii: "'") { state = .preValue } else { value.append(c) }
            case .doubleQuote:
                if c == UInt8(ascii: "\"") { state = .preValue } else if c == UInt8(ascii: "\\") { state = .doubleQuoteEscape } else { value.append(c) }
            case .doubleQuoteEscape:
                state = .doubleQuote
                if needEscape.contains(c) { value.append(c) } else if c != UInt8(ascii: "\n") { value += [UInt8(ascii: "\\"), c] }
            case .comment:
                if c == UInt8(ascii: "\\") { state = .commentEscape } else if newline.contains(c) { state = .preKey }
            case .commentEscape:
                state = .comment
            }
        }
        switch state {
        case .preValue, .value, .valueEscape, .singleQuote, .doubleQuote, .doubleQuoteEscape:
            if state == .value, let cut = lastValueWhitespace { value = Array(value[..<cut]) }
            push()
        default: break
        }
        return result
    }

    static let values: [String: String] = OutputFormatTests.hostileWithLongValue

    func testDockerEnvReadsBackExactlyAndRefusesLineBreaks() throws {
        let carried = Self.values.filter { !$0.value.unicodeScalars.contains("\n") && $0.value.unicodeScalars.last != "\r" }
        XCTAssertGreaterThan(carried.count, 25)
        let data = try OutputFormat.dockerEnv.encode(carried)
        XCTAssertEqual(try Self.dockerParse(data), carried)

        let canary = Canary("docker").value
        for bad in [canary + "\nNEXT=1", canary + "\r\n", canary + "\r", String(repeating: "x", count: 70_000) + canary, canary + "\0"] {
            XCTAssertThrowsError(try OutputFormat.dockerEnv.encode(["K": bad])) { error in
                XCTAssertEqual((error as? OutputEncodingError)?.key, "K")
                XCTAssertFalse("\(error)".contains(canary))
            }
        }
        // A CR inside a line is carried.
        XCTAssertEqual(try Self.dockerParse(OutputFormat.dockerEnv.encode(["K": "a\rb"])), ["K": "a\rb"])
    }

    func testSystemdEnvReadsBackExactlyAndRefusesControlCharacters() throws {
        let carried = Self.values.filter { !$0.value.utf8.contains { ($0 < 0x20 && $0 != 0x09 && $0 != 0x0A) || $0 == 0x7F } }
        XCTAssertGreaterThan(carried.count, 25)
        // A value ending in a backslash, one ending in whitespace, and line breaks all come back.
        XCTAssertNotNil(carried["K08_TRAILING_BACKSLASH"])
        XCTAssertNotNil(carried["K18_PADDED"])
        XCTAssertNotNil(carried["K13_PEM"])
        XCTAssertNotNil(carried["K99_LONG"])
        let data = try OutputFormat.systemdEnv.encode(carried)
        XCTAssertEqual(Self.systemdParse(data), carried)

        let canary = Canary("systemd").value
        for bad in [canary + "\r\n", canary + "\u{1B}[0m", canary + "\0"] {
            XCTAssertThrowsError(try OutputFormat.systemdEnv.encode(["K": bad])) { error in
                XCTAssertEqual((error as? OutputEncodingError)?.key, "K")
                XCTAssertFalse("\(error)".contains(canary))
            }
        }
    }

    /// The reason for the new formats: dotenv's quoting is python-dotenv's, and these parsers read it
    /// differently. Checked here so the README's claim stays honest.
    func testDotenvIsNotWhatDockerOrSystemdRead() throws {
        let data = try OutputFormat.dotenv.encode(["K": "say \"hi\""])
        XCTAssertNotEqual(try Self.dockerParse(data)["K"], "say \"hi\"")
        let trailing = try OutputFormat.dotenv.encode(["A": "C:\\dir\\", "B": "next"])
        XCTAssertNotEqual(Self.systemdParse(trailing), ["A": "C:\\dir\\", "B": "next"])
    }
}
