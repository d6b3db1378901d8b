import Foundation
import InjectSecretsKit

/// A whole number of days or hours (`30d`, `12h`), as `rotation.every` and `rotation.warn` take it.
package struct RotationInterval: Sendable, Hashable, CustomStringConvertible {
    package var seconds: Int
    /// As written in the manifest, for messages and the JSON `limit`.
    package var description: String

    /// Parses `30d` or `12h`; nil for anything else (zero, a fraction, another unit).
    package init?(parsing text: String) {
        guard let unit = text.last, unit == "d" || unit == "h" else { return nil }
        let digits = text.dropLast()
        guard (1...6).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.first != "0",
            let count = Int(digits)
        else { return nil }
        seconds = count * (unit == "d" ? 86_400 : 3_600)
        description = text
    }
}

/// A secret's `rotation:`, with `defaults.rotation` merged under it field by field.
package struct RotationPolicy: Sendable, Hashable {
    /// How new a secret's selected version must be.
    package var every: RotationInterval
    /// How long before `every` (and before a version's expiry) drift starts to say so in a note.
    package var warn: RotationInterval?
    /// How `rotate --due` makes a new value, if the manifest says.
    package var generate: Generate?

    package struct Generate: Sendable, Hashable {
        package var length: Int
        /// The field to change in a JSON-object secret.
        package var key: String?
    }
}

/// The fields of one `rotation:` mapping before merging; `none` is `optedOut`.
struct RotationFields {
    var optedOut = false
    var every: RotationInterval?
    var warn: (RotationInterval, SourceLocation)?
    var generate: RotationPolicy.Generate?
    var location: SourceLocation?
    /// An error was reported in it: no policy is made, and no second error about what is missing.
    var failed = false
}

extension ManifestDecoder {
    static let rotationKeys = ["every", "warn", "generate"]

    /// Reads `rotation: none` or `rotation: { every, warn, generate: { length, key } }`, reporting bad
    /// durations and lengths at their place.
    mutating func decodeRotationFields(_ node: YAMLNode, _ what: String) -> RotationFields? {
        if node.scalar == "none" { return RotationFields(optedOut: true, location: node.location) }
        guard node.mapping != nil else {
            error("\(what) must be 'none' or a mapping with 'every', 'warn' and 'generate', found \(node.kindName)", at: node.location)
            return nil
        }
        let errorsBefore = diagnostics.diagnostics.count
        guard let pairs = mapping(node, what, allowed: Self.rotationKeys) else { return nil }
        var fields = RotationFields(location: node.location)
        for pair in pairs {
            switch pair.key.scalar {
            case "every", "warn":
                let key = pair.key.scalar!
                guard let text = text(pair.value, "'\(key)' of \(what)") else { continue }
                guard let interval = RotationInterval(parsing: text) else {
                    error("'\(key)' of \(what) must be a whole number of days or hours, such as 30d or 12h, found '\(text.controlCharactersEscaped)'", at: pair.value.location)
                    continue
                }
                if key == "every" { fields.every = interval } else { fields.warn = (interval, pair.value.location) }
            case "generate":
                guard let generate = mapping(pair.value, "'generate' of \(what)", allowed: ["length", "key"]) else { continue }
                var length: Int?
                var key: String?
                for field in generate {
                    if field.key.scalar == "length" {
                        let text = field.value.scalar ?? ""
                        guard let number = Int(text), SecretGenerator.lengths.contains(number) else {
                            error("'length' of \(what) must be a whole number from \(SecretGenerator.lengths.lowerBound) to \(SecretGenerator.lengths.upperBound)", at: field.value.location)
                            continue
                        }
                        length = number
                    } else if let text = text(field.value, "'key' of \(what)") {
                        if text.isEmpty { error("'key' of \(what) needs a field name", at: field.value.location) } else { key = text }
                    }
                }
                if let length {
                    fields.generate = .init(length: length, key: key)
                } else if !generate.contains(where: { $0.key.scalar == "length" }) {
                    error("'generate' of \(what) needs a 'length'", at: pair.value.location)
                }
            default: break
            }
        }
        fields.failed = diagnostics.diagnostics.count > errorsBefore
        return fields
    }

    /// The policy of one secret: its own fields over the defaults'; nil when neither asks for one or the
    /// secret says `none`.
    mutating func rotationPolicy(_ own: RotationFields?, defaults: RotationFields?, secret: String, at location: SourceLocation) -> RotationPolicy? {
        if own?.optedOut == true || own?.failed == true || defaults?.failed == true { return nil }
        let base = defaults?.optedOut == true ? nil : defaults
        guard own != nil || base != nil else { return nil }
        guard let every = own?.every ?? base?.every else {
            error("the rotation policy of secret '\(secret)' needs 'every' (here or under 'defaults.rotation')", at: own?.location ?? location)
            return nil
        }
        let warn = own?.warn ?? base?.warn
        if let (interval, place) = warn, interval.seconds >= every.seconds {
            error("'warn' (\(interval)) of the rotation policy of secret '\(secret)' must be shorter than 'every' (\(every))", at: place)
            return nil
        }
        return RotationPolicy(every: every, warn: warn?.0, generate: own?.generate ?? base?.generate)
    }
}
