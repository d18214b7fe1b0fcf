import Foundation

/// Exit codes, as aws-cli uses them.
enum ExitCode: Int32 {
    case ok = 0
    /// The command ran but what it checked did not hold (a failed demo step, an invalid history).
    case failed = 1
    /// The verdict could not be determined (a checker's "unknown").
    case unknown = 2
    /// Bad command line or unparseable input.
    case usage = 252
    /// The service answered with an error.
    case serviceError = 254
    /// Could not reach the service.
    case connection = 255
}

/// A failure that ends the command with a message on stderr and an exit code.
struct CommandFailure: Error {
    var code: ExitCode
    var message: String

    static func usage(_ message: String) -> CommandFailure { CommandFailure(code: .usage, message: message) }
}

/// Parsed command-line options: `--name value`, `--name=value`, boolean `--flag`, and
/// positional arguments, in any order. Unknown options are usage errors.
struct ParsedArguments {
    var positional: [String] = []
    var values: [String: String] = [:]
    var flags: Set<String> = []

    func value(_ name: String) -> String? { values[name] }
    func has(_ name: String) -> Bool { flags.contains(name) }

    func int(_ name: String, default d: Int) throws -> Int {
        guard let v = values[name] else { return d }
        guard let n = Int(v) else { throw CommandFailure.usage("--\(name) takes an integer, got \"\(v)\"") }
        return n
    }

    func double(_ name: String, default d: Double) throws -> Double {
        guard let v = values[name] else { return d }
        guard let n = Double(v) else { throw CommandFailure.usage("--\(name) takes a number, got \"\(v)\"") }
        return n
    }
}

/// What a command accepts, for parsing and for `--help`.
struct CommandSpec {
    var usage: String
    var summary: String
    /// Options that take a value, with their help text.
    var options: [(name: String, help: String)] = []
    /// Options that are switches.
    var flags: [(name: String, help: String)] = []

    var helpText: String {
        var s = "usage: \(usage)\n\n\(summary)\n"
        if !options.isEmpty || !flags.isEmpty {
            s += "\noptions:\n"
            for o in options { s += "  --\(o.name) VALUE".padding(toLength: 28, withPad: " ", startingAt: 0) + o.help + "\n" }
            for f in flags { s += "  --\(f.name)".padding(toLength: 28, withPad: " ", startingAt: 0) + f.help + "\n" }
        }
        s += "  --help".padding(toLength: 28, withPad: " ", startingAt: 0) + "show this help\n"
        return s
    }

    /// Parses `args`; `nil` means `--help` was asked for (and printed).
    func parse(_ args: [String]) throws -> ParsedArguments? {
        var out = ParsedArguments()
        var i = 0
        let valueNames = Set(options.map(\.name))
        let flagNames = Set(flags.map(\.name))
        while i < args.count {
            let a = args[i]
            i += 1
            if a == "--help" || a == "-h" {
                Console.out(helpText)
                return nil
            }
            if a == "--" {
                out.positional += args[i...]
                break
            }
            guard a.hasPrefix("--"), a.count > 2 else {
                out.positional.append(a)
                continue
            }
            var name = String(a.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if valueNames.contains(name) {
                if let inline {
                    out.values[name] = inline
                } else {
                    guard i < args.count else { throw CommandFailure.usage("--\(name) needs a value\n\n\(helpText)") }
                    out.values[name] = args[i]
                    i += 1
                }
            } else if flagNames.contains(name), inline == nil {
                out.flags.insert(name)
            } else {
                throw CommandFailure.usage("unknown option --\(name)\n\n\(helpText)")
            }
        }
        return out
    }
}

/// Writes to stdout and stderr without buffering surprises.
enum Console {
    static func out(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }

    static func err(_ s: String) {
        FileHandle.standardError.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8))
    }

    /// Rows as left-aligned columns, two spaces apart (the first row is the header).
    static func table(_ rows: [[String]]) {
        guard let first = rows.first else { return }
        let widths = (0..<first.count).map { c in rows.map { $0[c].count }.max()! }
        for r in rows {
            out(r.enumerated().map { $0.element.padding(toLength: widths[$0.offset] + 2, withPad: " ", startingAt: 0) }.joined().trimmingCharacters(in: .whitespaces) + "\n")
        }
    }

    /// Reads all of standard input.
    static func readStdin() -> Data {
        FileHandle.standardInput.readDataToEndOfFile()
    }
}
