import Foundation

/// AWS's shared credentials file (ini): `[profile]` sections of `key = value` lines.
struct CredentialsFile {
    var profiles: [String: [String: String]] = [:]

    static func parse(_ text: String) -> CredentialsFile {
        var f = CredentialsFile()
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                var name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = String(name.dropFirst("profile ".count)) }
                current = name
                f.profiles[name, default: [:]] = f.profiles[name] ?? [:]
                continue
            }
            guard let current, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            f.profiles[current]?[key] = value
        }
        return f
    }

    var text: String {
        profiles.keys.sorted().map { name in
            "[\(name)]\n" + profiles[name]!.keys.sorted().map { "\($0) = \(profiles[name]![$0]!)" }.joined(separator: "\n") + "\n"
        }.joined(separator: "\n")
    }
}
