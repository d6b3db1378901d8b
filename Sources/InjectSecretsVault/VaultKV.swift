import Foundation
import InjectSecretsKit

/// What KV v2 metadata (`GET /v1/{mount}/metadata/{path}`) says about each version.
struct VaultKVMetadata: Sendable {
    struct Version: Sendable {
        var number: Int
        /// Soft-deleted now (a deletion time in the future is a scheduled deletion: still live).
        var deleted: Bool
        var destroyed: Bool
        var live: Bool { !deleted && !destroyed }
    }

    var versions: [Int: Version]

    /// The newest version that is neither deleted nor destroyed.
    var newestLive: Int? {
        versions.values.filter(\.live).map(\.number).max()
    }

    init?(json: [String: Any], now: Date = Date()) {
        guard let data = json["data"] as? [String: Any], let versions = data["versions"] as? [String: Any] else {
            return nil
        }
        var parsed: [Int: Version] = [:]
        for (key, value) in versions {
            guard let number = Int(key), let entry = value as? [String: Any] else { return nil }
            let deletion = entry["deletion_time"] as? String ?? ""
            parsed[number] = Version(
                number: number,
                deleted: Self.isPast(deletion, now: now),
                destroyed: entry["destroyed"] as? Bool ?? false)
        }
        self.versions = parsed
    }

    /// Whether a KV deletion time has come: empty means never.
    static func isPast(_ text: String, now: Date) -> Bool {
        guard !text.isEmpty else { return false }
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        // Vault writes nanoseconds; the formatter takes at most milliseconds, so cut the fraction down.
        var trimmed = text
        if let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            let fraction = text[text.index(after: dot)..<zone].prefix(3)
            trimmed = String(text[..<dot]) + "." + String(fraction) + String(text[zone...])
        }
        guard let date = withFraction.date(from: trimmed) ?? plain.date(from: text) else { return true }
        return date <= now
    }
}

/// A `GET /v1/{mount}/data/{path}` answer: the entry's `data.data` as its own JSON text (numbers and
/// key order exactly as Vault sent them) and `data.metadata`.
struct VaultKVEntry {
    var version: Int
    /// Nil when the version is deleted or destroyed (Vault answers 404 with `data.data: null`).
    var valueJSON: String?
    var deleted: Bool
    var destroyed: Bool

    init?(body: Data) {
        guard let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let data = json["data"] as? [String: Any],
            let metadata = data["metadata"] as? [String: Any],
            let version = (metadata["version"] as? NSNumber)?.intValue
        else { return nil }
        self.version = version
        self.deleted = VaultKVMetadata.isPast(metadata["deletion_time"] as? String ?? "", now: Date())
        self.destroyed = metadata["destroyed"] as? Bool ?? false
        if data["data"] is [String: Any], let range = RawJSON.range(of: ["data", "data"], in: body) {
            valueJSON = String(decoding: body[range], as: UTF8.self)
        } else {
            valueJSON = nil
        }
    }
}

/// Finds the bytes of one value inside a JSON document without re-encoding it.
enum RawJSON {
    /// The byte range of the value at `path` (object keys from the top), or nil.
    static func range(of path: [String], in data: Data) -> Range<Data.Index>? {
        let bytes = [UInt8](data)
        var scanner = Scanner(bytes: bytes)
        guard let range = scanner.find(path[...]) else { return nil }
        return (data.startIndex + range.lowerBound)..<(data.startIndex + range.upperBound)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        /// At a value: returns the range of the value at `path` below it.
        mutating func find(_ path: ArraySlice<String>) -> Range<Int>? {
            skipWhitespace()
            guard let key = path.first else {
                let start = index
                guard skipValue() else { return nil }
                return start..<index
            }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
            index += 1
            while true {
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: "}") { return nil }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                guard let name = readString() else { return nil }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                if name == key { return find(path.dropFirst()) }
                skipWhitespace()
                guard skipValue() else { return nil }
            }
        }

        /// Reads a string token and returns it decoded enough to compare with a plain key.
        mutating func readString() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index
            guard skipString() else { return nil }
            let token = Data(bytes[start..<index])
            return (try? JSONSerialization.jsonObject(with: token, options: .fragmentsAllowed)) as? String
        }

        mutating func skipString() -> Bool {
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""): index += 1; return true
                default: index += 1
                }
            }
            return false
        }

        mutating func skipValue() -> Bool {
            skipWhitespace()
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 { index += 1; return true }
                    default:
                        break
                    }
                    index += 1
                }
                return false
            default:
                while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) {
                    index += 1
                }
                return true
            }
        }
    }
}
