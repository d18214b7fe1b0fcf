import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Scratch files and folders of a test process: all under one folder of its own
/// (`$TMPDIR/crml-tests-PID`), removed when the process exits, whatever the tests did; a folder
/// left by a test process that was killed is removed by the next one.
public enum FileManagerTemp {
    /// Writes `text` to a new temporary file and returns its path.
    public static func write(_ text: String) -> String {
        let path = root + "/test-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// Creates a new empty temporary directory and returns its path.
    public static func directory(_ label: String = "dir") -> String {
        let path = root + "/\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// This process's folder, made (and its removal at exit arranged) on first use.
    public static let root: String = {
        let base = NSTemporaryDirectory()
        for old in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where old.hasPrefix("crml-tests-") {
            if let pid = Int32(old.dropFirst("crml-tests-".count)), kill(pid, 0) != 0 { try? FileManager.default.removeItem(atPath: base + old) }
        }
        let dir = base + "crml-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "crml-tests-\(getpid())") }
        return dir
    }()
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
