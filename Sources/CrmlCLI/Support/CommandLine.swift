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

/// What a command accepts, for parsing and for `--help`. The synopsis is built from the options
/// themselves, so it always lists every one; each option's default is stated once, in its help.
struct CommandSpec {
    /// The command words: `crml cluster up`.
    var command: String
    /// Positional arguments as the synopsis shows them: `ACCOUNT`, `A B FRACTION`.
    var arguments: String = ""
    var summary: String
    /// Options that take a value, with their help text.
    var options: [(name: String, help: String)] = []
    /// Options that are switches.
    var flags: [(name: String, help: String)] = []
    /// Options that must be given (shown without brackets).
    var required: Set<String> = []

    /// The placeholder an option's value has in the synopsis: `--time-limit TIME_LIMIT`.
    static func placeholder(_ name: String) -> String { name.uppercased().replacingOccurrences(of: "-", with: "_") }

    /// `crml cluster up [--accounts ACCOUNTS] …`, wrapped at 100 columns under the command.
    var usage: String {
        var parts = arguments.isEmpty ? [] : [arguments]
        parts += options.map { required.contains($0.name) ? "--\($0.name) \(CommandSpec.placeholder($0.name))" : "[--\($0.name) \(CommandSpec.placeholder($0.name))]" }
        parts += flags.map { "[--\($0.name)]" }
        let continuation = String(repeating: " ", count: command.count + 1)
        var lines = [command]
        for p in parts {
            if lines[lines.count - 1].count + 1 + p.count > 93 && lines[lines.count - 1] != continuation {
                lines.append(continuation + p)
            } else {
                lines[lines.count - 1] += (lines[lines.count - 1] == continuation ? "" : " ") + p
            }
        }
        return lines.joined(separator: "\n       ")
    }

    var helpText: String {
        var s = "usage: \(usage)\n\n\(summary)\n"
        let width = max(28, (options.map { "  --\($0.name) \(CommandSpec.placeholder($0.name))".count + 2 } + flags.map { $0.name.count + 6 }).max() ?? 0)
        s += "\noptions:\n"
        for o in options { s += "  --\(o.name) \(CommandSpec.placeholder(o.name))".padding(toLength: width, withPad: " ", startingAt: 0) + o.help + "\n" }
        for f in flags { s += "  --\(f.name)".padding(toLength: width, withPad: " ", startingAt: 0) + f.help + "\n" }
        s += "  --help".padding(toLength: width, withPad: " ", startingAt: 0) + "show this help\n"
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

/// A command made of subcommands (`crml cluster`, `crml fault`, …): its help lists every
/// subcommand's synopsis under one `usage:` and what each does; `--help` exits 0, no
/// subcommand is a usage error (252).
struct CommandGroup {
    var command: String
    var summary: String
    /// Each subcommand's name, its spec, and one line on what it does.
    var subcommands: [(name: String, spec: CommandSpec, does: String)]

    var helpText: String {
        var s = "usage: " + subcommands.map(\.spec.usage).joined(separator: "\n       ") + "\n\n"
        if !summary.isEmpty { s += summary + "\n\n" }
        let width = (subcommands.map(\.name.count).max() ?? 0) + 4
        for c in subcommands { s += "  " + c.name.padding(toLength: width, withPad: " ", startingAt: 0) + c.does + "\n" }
        s += "\nRun `\(command) SUBCOMMAND --help` for a subcommand's options.\n"
        return s
    }

    /// Runs the subcommand `args` names with the rest of them.
    func run(_ args: [String], _ dispatch: (String, [String]) throws -> ExitCode) throws -> ExitCode {
        guard let sub = args.first, sub != "--help", sub != "-h" else {
            if args.isEmpty { throw CommandFailure.usage(helpText) }
            Console.out(helpText)
            return .ok
        }
        guard subcommands.contains(where: { $0.name == sub }) else {
            throw CommandFailure.usage("unknown subcommand \(command) \(sub)\n\n\(helpText)")
        }
        return try dispatch(sub, Array(args.dropFirst()))
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

    /// The terminal's width when stdout is one, else 80 (as aws-cli decides its table width).
    static var terminalWidth: Int {
        var size = winsize()
        guard isatty(1) != 0, ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Reads all of standard input.
    static func readStdin() -> Data {
        FileHandle.standardInput.readDataToEndOfFile()
    }
}
