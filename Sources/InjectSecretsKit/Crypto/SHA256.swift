import Foundation

#if canImport(CryptoKit)
import CryptoKit
#else
import CLibcrypto
#endif

/// SHA-256 and HMAC-SHA256, the two primitives SigV4, the lock's digests and the deploy tag need, from the
/// platform rather than a compiled-in copy: CryptoKit on Apple systems, the system's libcrypto (OpenSSL)
/// elsewhere. swift-crypto would compile BoringSSL's ~450 C files into every consumer's first plugin run
/// for these two functions.
package enum SHA256 {
    static let byteCount = 32

    package static func hash(_ data: some DataProtocol) -> [UInt8] {
        let bytes = Array(data)
        #if canImport(CryptoKit)
        return Array(CryptoKit.SHA256.hash(data: bytes))
        #else
        var digest = [UInt8](repeating: 0, count: byteCount)
        bytes.withUnsafeBufferPointer { input in
            _ = CLibcrypto.SHA256(input.baseAddress, input.count, &digest)
        }
        return digest
        #endif
    }

    package static func hmac(key: [UInt8], message: some DataProtocol) -> [UInt8] {
        let bytes = Array(message)
        #if canImport(CryptoKit)
        let code = HMAC<CryptoKit.SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: key))
        return Array(code)
        #else
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { keyBytes in
            bytes.withUnsafeBufferPointer { input in
                // HMAC() returns NULL only for an unknown digest or an allocation failure; EVP_sha256 is
                // always there, so a NULL here is not a state the caller could act on.
                let result = HMAC(
                    EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count), input.baseAddress, input.count,
                    &digest, &length)
                precondition(result != nil && Int(length) == byteCount, "libcrypto HMAC-SHA256 failed")
            }
        }
        return Array(digest.prefix(byteCount))
        #endif
    }
}
