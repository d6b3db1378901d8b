import Foundation
import XCTest
@testable import InjectSecretsKit

final class YAMLReaderTests: XCTestCase {
    // MARK: - Places

    func testPlacesOfScalarsSequencesAndMappings() throws {
        let root = try XCTUnwrap(read("""
            name: app
            list:
              - one
              - two
            map: { a: 1, b: [x, y] }
            """))
        XCTAssertEqual(place(root), "1:1")
        let pairs = try XCTUnwrap(root.mapping)
        XCTAssertEqual(pairs.map { $0.key.scalar }, ["name", "list", "map"])
        XCTAssertEqual(place(pairs[0].key), "1:1")
        XCTAssertEqual(place(pairs[0].value), "1:7")
        XCTAssertEqual(place(pairs[1].key), "2:1")

        let list = try XCTUnwrap(root["list"])
        XCTAssertEqual(place(list), "3:3")
        XCTAssertEqual(list.sequence?.map(place), ["3:5", "4:5"])

        let map = try XCTUnwrap(root["map"])
        XCTAssertEqual(place(map), "5:6")
        XCTAssertEqual(place(try XCTUnwrap(map.mapping?[1].key)), "5:14")
        let inner = try XCTUnwrap(map["b"])
        XCTAssertEqual(place(inner), "5:17")
        XCTAssertEqual(inner.sequence?.map(place), ["5:18", "5:21"])
        XCTAssertEqual(root.location.path, "m.yaml")
    }

    func testColumnsCountCharactersNotBytes() throws {
        let root = try XCTUnwrap(read("é: ü\nb: x\n"))
        XCTAssertEqual(place(try XCTUnwrap(root["é"])), "1:4")
    }

    // MARK: - Scalars stay text

    func testScalarsStayExactlyAsWritten() throws {
        let root = try XCTUnwrap(read("""
            a: on
            b: no
            c: 0755
            d: 1e3
            e: ~
            f: yes
            g: 0x1F
            h: 1_000
            i: .inf
            j: 2001-12-14
            k:
            """))
        let expected = ["on", "no", "0755", "1e3", "~", "yes", "0x1F", "1_000", ".inf", "2001-12-14", ""]
        XCTAssertEqual(root.mapping?.map { $0.value.scalar }, expected)
        XCTAssertTrue(root.mapping?.allSatisfy { $0.value.tag == nil } ?? false)
        XCTAssertTrue(try XCTUnwrap(root["e"]).isNull)
        XCTAssertTrue(try XCTUnwrap(root["k"]).isNull)
        XCTAssertFalse(try XCTUnwrap(root["b"]).isNull)
    }

    func testScalarStylesAndTags() throws {
        let root = try XCTUnwrap(read("""
            plain: hello world
            single: 'it''s: here'
            double: "tab\\there \\u00e9"
            literal: |
              line one
                indented
              line three
            folded: >
              folded
              text
            strip: |-
              no newline
            tagged: !!str 12
            local: !secret abc
            quoted-null: "~"

            """))
        func style(_ key: String) -> YAMLNode.ScalarStyle? {
            if case .scalar(_, let style) = root[key]?.content { return style }
            return nil
        }
        XCTAssertEqual(root["plain"]?.scalar, "hello world")
        XCTAssertEqual(style("plain"), .plain)
        XCTAssertEqual(root["single"]?.scalar, "it's: here")
        XCTAssertEqual(style("single"), .singleQuoted)
        XCTAssertEqual(root["double"]?.scalar, "tab\there é")
        XCTAssertEqual(style("double"), .doubleQuoted)
        XCTAssertEqual(root["literal"]?.scalar, "line one\n  indented\nline three\n")
        XCTAssertEqual(style("literal"), .literal)
        XCTAssertEqual(root["folded"]?.scalar, "folded text\n")
        XCTAssertEqual(style("folded"), .folded)
        XCTAssertEqual(root["strip"]?.scalar, "no newline")
        XCTAssertEqual(root["tagged"]?.scalar, "12")
        XCTAssertEqual(root["tagged"]?.tag, "!!str")
        XCTAssertEqual(root["local"]?.tag, "!secret")
        XCTAssertEqual(root["local"]?.scalar, "abc")
        XCTAssertEqual(root["quoted-null"]?.scalar, "~")
        XCTAssertFalse(try XCTUnwrap(root["quoted-null"]).isNull)
    }

    func testTagsOnCollections() throws {
        let root = try XCTUnwrap(read("a: !!map { x: 1 }\nb: !list [1]\n"))
        XCTAssertEqual(root["a"]?.tag, "!!map")
        XCTAssertEqual(root["b"]?.tag, "!list")
        XCTAssertNil(root.tag)
    }

    // MARK: - Keys

    func testDuplicateKeyIsAnErrorAtTheSecondNamingTheFirst() {
        assertError("a: 1\nb: 2\na: 3\n", "duplicate key 'a'; it is first defined at line 1", at: "3:1")
        assertError("{x: 1, y: 2, x: 3}", "duplicate key 'x'; it is first defined at line 1", at: "1:14")
        assertError(
            "outer:\n  k: 1\n  other: 2\n  k: 3\n", "duplicate key 'k'; it is first defined at line 2", at: "4:3"
        )
        // Quoting does not make another key.
        assertError("a: 1\n\"a\": 2\n", "duplicate key 'a'; it is first defined at line 1", at: "2:1")
    }

    func testDuplicateKeyInALargeMapping() {
        // Past a few keys the reader switches from comparing keys to an index; both must agree.
        let keys = (1...40).map { "KEY_\($0): v\n" }.joined()
        assertError(keys + "KEY_3: again\n", "duplicate key 'KEY_3'; it is first defined at line 3", at: "41:1")
        assertError(keys + "KEY_40: again\n", "duplicate key 'KEY_40'; it is first defined at line 40", at: "41:1")
        XCTAssertNoThrow(try read(keys + "KEY_41: new\n"))
    }

    func testDuplicateKeyThroughAnAlias() {
        assertError(
            "k: &k name\nm:\n  name: 1\n  *k : 2\n", "duplicate key 'name'; it is first defined at line 3", at: "4:3"
        )
    }

    func testSameKeyInDifferentMappingsIsFine() throws {
        let root = try XCTUnwrap(read("f:\n  env: {A: 1}\ng:\n  env: {A: 2}\n"))
        XCTAssertEqual(root["g"]?["env"]?["A"]?.scalar, "2")
    }

    func testKeysMustBeScalars() {
        assertError("? [a, b]\n: 1\n", "a mapping key must be a scalar, found a sequence", at: "1:3")
        assertError("{[a]: 1}", "a mapping key must be a scalar, found a sequence", at: "1:2")
        assertError("? {a: 1}\n: 1\n", "a mapping key must be a scalar, found a mapping", at: "1:3")
        assertError("m: &m {a: 1}\n*m : 2\n", "a mapping key must be a scalar, found a mapping", at: "2:1")
    }

    // MARK: - Anchors, aliases and merge keys

    func testAliasesStandForTheAnchoredNode() throws {
        let root = try XCTUnwrap(read("""
            name: &n checkout
            list: &l [a, b]
            copy: *l
            again: *n
            nested: { inner: *l }

            """))
        XCTAssertEqual(root["again"]?.scalar, "checkout")
        XCTAssertEqual(root["copy"]?.sequence?.compactMap(\.scalar), ["a", "b"])
        XCTAssertEqual(root["nested"]?["inner"]?.sequence?.count, 2)
        // The alias stands where it is written; what it holds keeps the places of the anchored node.
        XCTAssertEqual(place(try XCTUnwrap(root["copy"])), "3:7")
        XCTAssertEqual(root["copy"]?.sequence?.map(place), ["2:11", "2:14"])
    }

    func testAliasAsKey() throws {
        let root = try XCTUnwrap(read("keys: [&k name]\nmap: { *k : value }\n"))
        XCTAssertEqual(root["map"]?["name"]?.scalar, "value")
    }

    func testUnknownAliasIsLocated() {
        assertError("a: *nope\n", "unknown alias '*nope'; no anchor '&nope' comes before it", at: "1:4")
        assertError(
            "a: &base 1\nb: *bas\n",
            "unknown alias '*bas'; no anchor '&bas' comes before it; did you mean 'base'?",
            at: "2:4"
        )
        // An alias before its anchor is unknown too: anchors only reach forward.
        assertError("a: *later\nb: &later 1\n", "unknown alias '*later'; no anchor '&later' comes before it", at: "1:4")
    }

    func testAliasInsideItsOwnAnchorIsAnError() {
        assertError("a: &r [1, *r]\n", "alias '*r' refers to a node that contains it", at: "1:11")
    }

    func testMergeKeysExplicitKeysWin() throws {
        let root = try XCTUnwrap(read("""
            base: &base
              region: us-east-1
              timeout: 30
            extra: &extra { memory: 512, region: eu-west-1 }
            svc:
              <<: *base
              timeout: 60
            before: { timeout: 5, <<: *base }
            multi:
              name: m
              <<: [*base, *extra]
            inline:
              <<: { a: 1 }
              b: 2

            """))
        let svc = try XCTUnwrap(root["svc"])
        XCTAssertEqual(svc.mapping?.compactMap { $0.key.scalar }, ["region", "timeout"])
        XCTAssertEqual(svc["timeout"]?.scalar, "60")
        XCTAssertEqual(svc["region"]?.scalar, "us-east-1")
        XCTAssertEqual(root["before"]?["timeout"]?.scalar, "5")
        XCTAssertEqual(root["before"]?.mapping?.count, 2)

        // Earlier merged mappings win over later ones; merged keys take the place of the `<<`.
        let multi = try XCTUnwrap(root["multi"])
        XCTAssertEqual(multi.mapping?.compactMap { $0.key.scalar }, ["name", "region", "timeout", "memory"])
        XCTAssertEqual(multi["region"]?.scalar, "us-east-1")
        XCTAssertEqual(multi["memory"]?.scalar, "512")

        XCTAssertEqual(root["inline"]?.mapping?.compactMap { $0.key.scalar }, ["a", "b"])
        // Merged pairs keep the place where they are written.
        XCTAssertEqual(place(try XCTUnwrap(svc.mapping?[0].key)), "2:3")
    }

    func testMergeKeyNeedsMappings() {
        assertError(
            "s: &s x\nm:\n  <<: *s\n",
            "a merge key '<<' takes a mapping or a sequence of mappings, found a scalar",
            at: "3:7"
        )
        assertError(
            "a: &a {x: 1}\nm:\n  <<: [*a, 3]\n",
            "a merge key '<<' takes a mapping or a sequence of mappings; this sequence holds a scalar",
            at: "3:12"
        )
    }

    func testQuotedMergeKeyIsAnOrdinaryKey() throws {
        let root = try XCTUnwrap(read("\"<<\": text\n"))
        XCTAssertEqual(root["<<"]?.scalar, "text")
    }

    // MARK: - Hostile files

    func testBillionLaughsFailsFast() {
        let document = """
            a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
            b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
            c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
            d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
            e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
            f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
            g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
            h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
            i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]

            """
        let start = Date()
        // The document so far weighs 672,612 nodes when `g` opens; each `*f` adds 597,871, so the eighth
        // alias of line 7 passes 5,000,000 (with the bound per byte lifted to reach the absolute one).
        var absolute = YAMLLimits()
        absolute.expandedNodesPerByte = 1_000_000
        assertError(
            document,
            "aliases expand the document to more than 5000000 nodes; use fewer aliases of large nodes",
            at: "7:29", limits: absolute
        )
        // By default the bound grows with the file: this one of a few hundred bytes stops at the floor.
        assertError(
            document,
            "aliases expand the document to more than 100000 nodes (2 per byte of this \(document.utf8.count)-byte file, at least 100000); use fewer aliases of large nodes",
            at: "6:8"
        )
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.5)
    }

    func testExpansionLimitCountsEveryAliasedNode() {
        var limits = YAMLLimits()
        limits.maxExpandedNodes = 10
        // root 1, key 1, sequence 1 + 3 items, key 1 = 7; the alias adds the 4 nodes of the sequence.
        assertError(
            "a: &a [x, y, z]\nb: *a\n",
            "aliases expand the document to more than 10 nodes; use fewer aliases of large nodes",
            at: "2:4",
            limits: limits
        )
        XCTAssertNoThrow(try YAMLReader.read(Data("a: &a [x, y, z]\nb: x\n".utf8), path: "m.yaml", limits: limits))
    }

    func testDeepFlowNestingIsALocatedErrorNotACrash() {
        let deep = String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)
        assertError(deep, "nesting deeper than 256 levels", at: "1:257")
        let unclosed = String(repeating: "{a: ", count: 20_000)
        assertError(unclosed, "nesting deeper than 256 levels", at: "1:1025")
    }

    func testDeepBlockNestingIsALocatedErrorNotACrash() {
        let sequences = String(repeating: "- ", count: 20_000) + "x\n"
        assertError(sequences, "nesting deeper than 256 levels", at: "1:513")
        var mappings = ""
        for level in 0..<300 {
            mappings += String(repeating: " ", count: level) + "k:\n"
        }
        assertError(mappings, "nesting deeper than 256 levels", at: "257:257")
    }

    func testNestingUpToTheLimitIsFine() throws {
        let deep = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        var node = try XCTUnwrap(read(deep))
        var depth = 1
        while let inner = node.sequence?.first {
            node = inner
            depth += 1
        }
        XCTAssertEqual(depth, 256)
    }

    func testNestingThroughAliasesIsBounded() {
        let anchored = "a: &deep " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        let user = "b: " + String(repeating: "[", count: 100) + "*deep" + String(repeating: "]", count: 100)
        assertError(
            anchored + "\n" + user + "\n",
            "nesting deeper than 256 levels once alias '*deep' is expanded",
            at: "2:104"
        )
    }

    func testSizeLimitIsCheckedBeforeParsing() {
        var limits = YAMLLimits()
        limits.maxBytes = 10
        // Not even valid YAML: the size is checked first.
        assertError("a: [1, 2, 3", "the file is 11 bytes, more than the limit of 10 bytes", at: "1:1", limits: limits)
        XCTAssertNoThrow(try YAMLReader.read(Data("a: [1, 2]\n".utf8), path: "m.yaml", limits: limits))
    }

    // MARK: - Bad files

    func testInvalidUTF8() {
        assertError(bytes: Array("a: ok\nb: ".utf8) + [0xFF] + Array("\n".utf8),
                    "invalid UTF-8 in the file (byte 0xFF); save it as UTF-8", at: "2:4")
        assertError(bytes: Array("a: ok\nb: é".utf8) + [0xC3, 0x28] + Array("\n".utf8),
                    "invalid UTF-8 in the file (byte 0xC3); save it as UTF-8", at: "2:5")
        assertError(bytes: Array("a: x".utf8) + [0xE2, 0x82],
                    "invalid UTF-8 in the file (byte 0xE2); save it as UTF-8", at: "1:5")
    }

    func testByteOrderMarkIsNotAColumn() throws {
        let root = try XCTUnwrap(read("\u{FEFF}a: 1\nb: 2\n"))
        XCTAssertEqual(root.mapping?.map { place($0.key) }, ["1:1", "2:1"])
        assertError(bytes: [0xEF, 0xBB, 0xBF] + Array("a: 1\nb: ".utf8) + [0xFF],
                    "invalid UTF-8 in the file (byte 0xFF); save it as UTF-8", at: "2:4")
    }

    func testUTF16IsRejectedAsInvalidUTF8() {
        assertError(bytes: [0xFF, 0xFE] + Array("a: 1".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] },
                    "invalid UTF-8 in the file (byte 0xFF); save it as UTF-8", at: "1:1")
    }

    func testControlCharacter() {
        assertError(bytes: Array("a: x".utf8) + [0x07] + Array("\n".utf8),
                    "control character U+0007 is not allowed in YAML", at: "1:5")
    }

    func testEmptyAndCommentOnlyFilesHaveNoDocument() throws {
        XCTAssertNil(try YAMLReader.read(Data(), path: "m.yaml"))
        XCTAssertNil(try read("\n   \n\n"))
        XCTAssertNil(try read("# only a comment\n   # and another\n"))
        XCTAssertNil(try read("---\n# nothing here\n"))
        XCTAssertNil(try read("---\n...\n"))
        // A null is a document, not an empty file.
        XCTAssertEqual(try read("~\n")?.scalar, "~")
    }

    func testTabIndentationIsNamed() {
        assertError(
            "functions:\n\tcheckout:\n\t\tenv: {}\n", "tabs are not allowed for indentation; indent with spaces",
            at: "2:1"
        )
        assertError(
            "a: |\n  text\n\tmore\n", "tabs are not allowed for indentation; indent with spaces", at: "3:1"
        )
    }

    func testTabAfterColonIsFine() throws {
        XCTAssertEqual(try read("a:\tvalue\n")?["a"]?.scalar, "value")
    }

    func testMoreThanOneDocument() {
        assertError(
            "a: 1\n---\nb: 2\n",
            "the file holds more than one YAML document; a manifest is a single document",
            at: "2:1"
        )
        assertError(
            "---\na: 1\n...\n---\n",
            "the file holds more than one YAML document; a manifest is a single document",
            at: "4:1"
        )
    }

    func testUnterminatedQuote() {
        assertError(
            "a: \"open\nb: 1\n", "unterminated quoted string; it opens at line 1, column 4", at: "3:1"
        )
        assertError("a: 'open", "unterminated quoted string; it opens at line 1, column 4", at: "1:9")
    }

    func testSyntaxErrorsAreReadable() {
        assertError(
            "a: b: c\n", "unexpected ':' in a value; put the value in quotes if the ':' belongs to it", at: "1:5"
        )
        assertError(
            "a: @user\n", "a value cannot start with the character '@' here; put the value in quotes", at: "1:4"
        )
        assertError(
            "key: [a, b\nother: 1\n",
            "did not find expected ',' or ']' in the flow sequence that starts at line 1, column 6",
            at: "2:6"
        )
        assertError(
            "a:\n  b: 1\n c: 2\n",
            "did not find expected key in the block mapping that starts at line 1, column 1",
            at: "3:2"
        )
    }

    // MARK: - Helpers

    private func read(_ text: String, limits: YAMLLimits = YAMLLimits()) throws -> YAMLNode? {
        try YAMLReader.read(Data(text.utf8), path: "m.yaml", limits: limits)
    }

    private func place(_ node: YAMLNode) -> String {
        "\(node.location.line):\(node.location.column)"
    }

    private func assertError(
        _ text: String, _ message: String, at expected: String, limits: YAMLLimits = YAMLLimits(),
        file: StaticString = #filePath, line: UInt = #line
    ) {
        assertError(bytes: Array(text.utf8), message, at: expected, limits: limits, file: file, line: line)
    }

    private func assertError(
        bytes: [UInt8], _ message: String, at expected: String, limits: YAMLLimits = YAMLLimits(),
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let node = try YAMLReader.read(Data(bytes), path: "m.yaml", limits: limits)
            XCTFail("expected an error, read \(String(describing: node?.kindName))", file: file, line: line)
        } catch let error as InjectSecretsError {
            XCTAssertEqual(error.kind, .badInput, file: file, line: line)
            XCTAssertEqual(error.diagnostics.count, 1, file: file, line: line)
            guard let diagnostic = error.diagnostics.first else { return }
            XCTAssertEqual(diagnostic.message, message, file: file, line: line)
            XCTAssertEqual(diagnostic.location.map { "\($0.line):\($0.column)" }, expected, file: file, line: line)
            XCTAssertEqual(diagnostic.location?.path, "m.yaml", file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }
}
