import Foundation

/// Scratch files and folders under the system temporary directory.
public enum FileManagerTemp {
    /// Writes `text` to a new temporary file and returns its path.
    public static func write(_ text: String) -> String {
        let path = NSTemporaryDirectory() + "crml-test-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// Creates a new empty temporary directory and returns its path.
    public static func directory(_ label: String = "dir") -> String {
        let path = NSTemporaryDirectory() + "crml-\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Every file under a folder and its bytes (folders themselves left out), to show that
/// something changed nothing on disk.
public func directoryContents(_ dir: String, excluding: Set<String> = []) -> [String: Data] {
    var out: [String: Data] = [:]
    let e = FileManager.default.enumerator(atPath: dir)
    while let f = e?.nextObject() as? String {
        var isDir: ObjCBool = false
        if !excluding.contains(f), FileManager.default.fileExists(atPath: dir + "/" + f, isDirectory: &isDir), !isDir.boolValue {
            out[f] = FileManager.default.contents(atPath: dir + "/" + f) ?? Data()
        }
    }
    return out
}
