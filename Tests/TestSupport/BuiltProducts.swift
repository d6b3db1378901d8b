import Foundation

/// The folder holding the products `swift test` built (the executable among them).
public var productsDirectory: URL {
    #if os(macOS)
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        return bundle.bundleURL.deletingLastPathComponent()
    }
    fatalError("no .xctest bundle found")
    #else
    return Bundle.main.bundleURL
    #endif
}

/// The package's root folder, found from this file's place in the tree.
public var packageRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Writes `files` (relative path -> text) below `directory`, creating folders.
public func writeFiles(_ files: [String: String], in directory: URL) throws {
    for (path, text) in files {
        let url = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
}
