/// Bytes as lowercase hex, the way digests appear in the lock, the render record and SigV4. Written
/// out by hand: `String(format:)` goes through Foundation's formatter for every byte.
extension Sequence where Element == UInt8 {
    package var lowercaseHex: String {
        var digits: [UInt8] = []
        digits.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            digits.append(hexDigit(byte >> 4))
            digits.append(hexDigit(byte & 0x0F))
        }
        return String(decoding: digits, as: UTF8.self)
    }
}

private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
}
