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
        /// `created_time`.
        var created: Date? = nil
        /// `deletion_time`: a past one is a deletion, a future one a scheduled deletion (its expiry).
        var deletion: Date? = nil
    }

    var versions: [Int: Version]
    /// `delete_version_after` in seconds (0: versions do not expire).
    var deleteVersionAfter: Double = 0

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
                destroyed: entry["destroyed"] as? Bool ?? false,
                created: Self.date(entry["created_time"] as? String ?? ""),
                deletion: Self.date(deletion))
        }
        self.versions = parsed
        deleteVersionAfter = Self.seconds(ofGoDuration: data["delete_version_after"] as? String ?? "") ?? 0
    }

    /// When `version` expires: the deletion `delete_version_after` scheduled for it. A deletion time
    /// still to come is one (only that setting, the path's or the mount's, puts one in the future); one
    /// that has come is one when it is the created time plus the path's setting, else someone deleted it.
    func expiry(of version: Version, now: Date = Date()) -> Date? {
        guard let deletion = version.deletion else { return nil }
        if deletion > now { return deletion }
        guard let created = version.created, deleteVersionAfter > 0 else { return nil }
        return abs(deletion.timeIntervalSince(created) - deleteVersionAfter) < 1 ? deletion : nil
    }

    /// Whether a KV deletion time has come: empty means never.
    static func isPast(_ text: String, now: Date) -> Bool {
        guard !text.isEmpty else { return false }
        guard let date = date(text) else { return true }
        return date <= now
    }

    static func date(_ text: String) -> Date? { RFC3339.date(text) }

    /// A Go duration as Vault prints it (`240h0m0s`, `1h30m`, `0s`), in seconds.
    static func seconds(ofGoDuration text: String) -> Double? {
        var total = 0.0
        var number = ""
        for character in text {
            if character.isNumber || character == "." {
                number.append(character)
                continue
            }
            guard let value = Double(number) else { return nil }
            switch character {
            case "h": total += value * 3_600
            case "m": total += value * 60
            case "s": total += value
            default: return nil
            }
            number = ""
        }
        return number.isEmpty ? total : nil
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
