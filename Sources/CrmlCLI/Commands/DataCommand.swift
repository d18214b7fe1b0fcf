import Foundation
import JSON
import Lookalike
import Wire

/// `crml data generate|upload`: interaction data to play with, and a way to put big CSV files
/// into a node's S3 in parts.
enum DataCommand {
    static var group: CommandGroup {
        CommandGroup(command: "crml data", summary: "", subcommands: [
            ("generate", generateSpec, "interactions with planted groups of users who like the same items, the groups, and a seed; the same options always give the same bytes"),
            ("upload", uploadSpec, "a big CSV file into a node's S3, in parts small enough for one call each"),
        ])
    }

    static func run(_ args: [String]) throws -> ExitCode {
        try group.run(args) { sub, rest in sub == "generate" ? try generate(rest) : try upload(rest) }
    }

    static let generateSpec = CommandSpec(
        command: "crml data generate",
        summary: "Writes interactions.csv, groups.csv and seed.csv with planted groups; deterministic for its flags.",
        options: [("out", "the directory to write to"), ("users", "users (default 10000)"), ("items", "items (default 1000)"),
                  ("interactions", "interactions (default 100000)"), ("groups", "planted groups (default 10)"),
                  ("seed", "random seed (default 1)"), ("seed-users", "users of group 0 in seed.csv (default 200)")],
        required: ["out"])

    static func generate(_ args: [String]) throws -> ExitCode {
        guard let parsed = try generateSpec.parse(args) else { return .ok }
        guard let out = parsed.value("out") else { throw CommandFailure.usage("crml data generate needs --out DIR\n\n\(generateSpec.helpText)") }
        var o = SyntheticData.Options()
        o.users = try parsed.int("users", default: o.users)
        o.items = try parsed.int("items", default: o.items)
        o.interactions = try parsed.int("interactions", default: o.interactions)
        o.groups = try parsed.int("groups", default: o.groups)
        o.seed = UInt64(try parsed.int("seed", default: 1))
        o.seedUsers = try parsed.int("seed-users", default: o.seedUsers)
        guard o.users > 0, o.items > 0, o.interactions > 0, o.groups > 0, o.groups <= o.items else {
            throw CommandFailure.usage("--users, --items, --interactions and --groups must be positive, with --groups at most --items")
        }
        let files = SyntheticData.generate(o)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for (name, bytes) in [("interactions.csv", files.interactions), ("groups.csv", files.groups), ("seed.csv", files.seed)] {
            guard FileManager.default.createFile(atPath: "\(out)/\(name)", contents: Data(bytes)) else {
                throw CommandFailure(code: .failed, message: "cannot write \(out)/\(name)")
            }
        }
        Console.out("wrote \(out)/interactions.csv (\(o.interactions) interactions, \(o.users) users, \(o.items) items, \(o.groups) groups), \(out)/groups.csv, \(out)/seed.csv (\(files.seedUsers.count) users of group 0)\n")
        return .ok
    }

    static let uploadSpec = CommandSpec(
        command: "crml data upload", arguments: "FILE",
        summary: "Puts a CSV file into the node's S3 in parts, each starting with the file's header row, named KEY_PREFIX/part-00000.csv, KEY_PREFIX/part-00001.csv, …",
        options: [("bucket", "the bucket (it must exist)"), ("key-prefix", "keys are KEY_PREFIX/part-NNNNN.csv"),
                  ("part-size", "the largest part, in bytes (default 2000000)"), ("profile", "a profile of DIR/credentials (default $AWS_PROFILE)"),
                  ("account", "the account whose node to call"), ("endpoint", "HOST:PORT of the node"), ClusterCommand.dirOption],
        required: ["bucket", "key-prefix"])

    static func upload(_ args: [String]) throws -> ExitCode {
        guard let parsed = try uploadSpec.parse(args) else { return .ok }
        guard let file = parsed.positional.first, let bucket = parsed.value("bucket"), let prefix = parsed.value("key-prefix") else {
            throw CommandFailure.usage("crml data upload needs FILE, --bucket and --key-prefix\n\n\(uploadSpec.helpText)")
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure.usage("cannot read \(file)") }
        let partSize = try parsed.int("part-size", default: 2_000_000)
        let bytes = [UInt8](data)
        guard let headerEnd = bytes.firstIndex(of: 0x0A) else { throw CommandFailure.usage("\(file) has no header line") }
        let header = Array(bytes[...headerEnd])
        let client = try NodeConnection.connect(parsed)
        var start = headerEnd + 1
        var part = 0
        while start < bytes.count {
            var end = min(bytes.count, start + max(1, partSize - header.count))
            if end < bytes.count { end = (bytes[start..<end].lastIndex(of: 0x0A).map { $0 + 1 }) ?? end }
            let key = "\(prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix)/part-\(String(format: "%05d", part)).csv"
            do {
                _ = try client.call("s3.PutObject", ["Bucket": .string(bucket), "Key": .string(key),
                                                     "Body": .string(Base64.encode(header + bytes[start..<end])), "ContentType": "text/csv"], timeout: 120)
            } catch {
                throw NodeConnection.failure(error, operation: "PutObject", endpoint: "\(client.host):\(client.port)")
            }
            Console.err("  s3://\(bucket)/\(key) (\(end - start + header.count) bytes)")
            part += 1
            start = end
        }
        Console.out("uploaded \(file) as \(part) part\(part == 1 ? "" : "s") under s3://\(bucket)/\(prefix)\n")
        return .ok
    }
}
