import Foundation

/// RFC 3339 times as stores write them (Vault's `created_time`, the file store's `created:`).
package enum RFC3339 {
    /// Parses `2026-03-01T12:00:00Z`, with an offset or a fraction of up to nanoseconds; nil otherwise.
    package static func date(_ text: String) -> Date? {
        guard !text.isEmpty else { return nil }
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // Vault writes nanoseconds; the formatter takes at most milliseconds, so cut the fraction down.
        var trimmed = text
        if let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            let fraction = text[text.index(after: dot)..<zone].prefix(3)
            trimmed = String(text[..<dot]) + "." + String(fraction) + String(text[zone...])
        }
        return withFraction.date(from: trimmed) ?? ISO8601DateFormatter().date(from: text)
    }

    /// `2026-03-01T12:00:00Z`: whole seconds, UTC.
    package static func string(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}
