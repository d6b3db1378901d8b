import Foundation

/// Canary secret values: unique, recognisable strings that tests plant in stores and then look for
/// everywhere they must not be (stdout, stderr, the lock, the render record, reports).
public struct Canary: Sendable {
    public let value: String

    public init(_ label: String = "value") {
        value = "CANARY-\(label)-\(UUID().uuidString.prefix(8))"
    }

    /// Every place in `texts` (name → content) that holds the canary; empty when clean.
    public func leaks(in texts: [String: String]) -> [String] {
        texts.filter { $0.value.contains(value) }.map(\.key).sorted()
    }
}

/// Reads every regular file below `directory` as text, keyed by path, for canary scans of a whole tree.
public func filesBelow(_ directory: URL) -> [String: String] {
    var result: [String: String] = [:]
    guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey]) else {
        return result
    }
    for case let url as URL in enumerator {
        guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
        if let data = try? Data(contentsOf: url) {
            result[url.path] = String(decoding: data, as: UTF8.self)
        }
    }
    return result
}

/// A fresh temporary folder for one test, removed by the caller.
public func makeTemporaryDirectory(_ label: String = "test") throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("inject-secrets-\(label)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.resolvingSymlinksInPath()
}
