import AccountNode
import CLIOutput
import ClusterConfig
import CleanRoomsModel
import Foundation
import JMESPath
import JSON
import Wire

/// `crml call METHOD`: one API call to a node, printed as aws-cli prints it.
enum CallCommand {
    static let spec = CommandSpec(
        command: "crml call", arguments: "METHOD | SERVICE help | METHOD help",
        summary: """
            Calls METHOD (service.Operation, e.g. iam.CreateUser) and prints the result as JSON.
            Credentials as aws-cli takes them, first found wins: --profile (from DIR/credentials),
            AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE. The node is --endpoint, --account, or the
            profile's account. `crml call SERVICE help` (or --list SERVICE) lists a service's operations;
            `crml call METHOD help` lists an operation's input members. Exit codes: 0 success, 254 the service
            answered with an error, 252 usage (an unknown method, bad --params or --query), 255 cannot connect.
            """,
        options: [("params", "the request as JSON, or file://FILE or @FILE to read it from a file (default {})"),
                  ("profile", "a profile of DIR/credentials (default $AWS_PROFILE)"),
                  ("account", "the account whose node to call"),
                  ("endpoint", "HOST:PORT of the node to call"),
                  ("timeout", "seconds to wait for the answer (default 60)"),
                  ("query", "a JMESPath expression applied to the result, as aws-cli's --query (e.g. 'Users[].UserName', 'Users[?Path==`/`].[UserName,Arn]', 'length(Users)')"),
                  ("output", "json (default), text (tab-separated, as aws-cli) or table"),
                  ("wait-until", "repeat the call until PATH=VALUE holds (PATH a JMESPath expression, e.g. status=ACTIVE); a value ending in _FAILED stops the wait with exit 255"),
                  ("wait-timeout", "seconds to wait with --wait-until (default 300)"),
                  ClusterCommand.dirOption],
        flags: [("list", "list the services (or, with SERVICE, its operations) the nodes serve")])

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        if parsed.has("list") { return try list(parsed.positional.first) }
        guard let method = parsed.positional.first else { throw CommandFailure.usage("crml call needs a METHOD\n\n\(spec.helpText)") }
        if parsed.positional.count == 2, parsed.positional[1] == "help" {
            return method.contains(".") ? try describe(method) : try list(method)
        }
        guard parsed.positional.count == 1 else { throw CommandFailure.usage("unexpected argument \(parsed.positional[1])") }
        let parts = method.split(separator: ".")
        guard parts.count == 2 else {
            if MethodCatalog.services.contains(method) { return try list(method) }
            throw CommandFailure.usage("METHOD must be service.Operation (for example iam.CreateUser), got \(method)")
        }
        try MethodCatalog.check(method)
        let params = try readParams(parsed.value("params"))
        let query = try parsed.value("query").map(compile)
        let output = parsed.value("output") ?? "json"
        guard ["json", "text", "table"].contains(output) else { throw CommandFailure.usage("--output must be json, text or table, got \(output)") }
        let waitFor = try parsed.value("wait-until").map(parseWait)
        let timeout = try parsed.double("timeout", default: 60)
        let client = try NodeConnection.connect(parsed)
        do {
            var result = try client.call(method, params, timeout: timeout)
            if let waitFor {
                result = try waitUntil(waitFor, first: result, deadline: Date().addingTimeInterval(try parsed.double("wait-timeout", default: 300))) {
                    try client.call(method, params, timeout: timeout)
                }
            }
            if let query { result = try search(query, result) }
            switch output {
            case "text": Console.out(TextOutput.render(result))
            case "table": Console.out(TableOutput.render(result, title: String(parts[1]), width: Console.terminalWidth))
            default: Console.out(JSONWriter.string(result, pretty: true) + "\n")
            }
            return .ok
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw NodeConnection.failure(error, operation: String(parts[1]), endpoint: "\(client.host):\(client.port)")
        }
    }

    /// `crml call --list [SERVICE]`, `crml call SERVICE help`.
    static func list(_ service: String?) throws -> ExitCode {
        guard let service else {
            Console.out("services (crml call SERVICE help lists one's operations):\n" + MethodCatalog.services.map { "  \($0)\n" }.joined())
            return .ok
        }
        guard MethodCatalog.services.contains(service) else {
            throw CommandFailure.usage("unknown service \(service); services: \(MethodCatalog.services.joined(separator: ", "))")
        }
        Console.out("\(service) operations (crml call \(service).OPERATION help lists its input):\n"
                    + MethodCatalog.operations(of: service).map { "  \(service).\($0)\n" }.joined())
        return .ok
    }

    /// `crml call METHOD help`: the operation's input members, from its service model.
    static func describe(_ method: String) throws -> ExitCode {
        try MethodCatalog.check(method)
        let parts = method.split(separator: ".")
        guard let model = ServiceModel.named(String(parts[0])), let op = model.operations[String(parts[1])] else {
            Console.out("\(method): no service model describes its input\n")
            return .ok
        }
        let members = op.inputShape.map { model.describeMembers(of: $0) } ?? []
        Console.out("\(method) takes --params with:\n" + (members.isEmpty ? "  (no members)\n" : members.map { "  \($0)\n" }.joined()))
        return .ok
    }

    static func compile(_ expression: String) throws -> JMESPath {
        do { return try JMESPath(expression) } catch { throw CommandFailure.usage("\(error)") }
    }

    static func search(_ query: JMESPath, _ value: JSON) throws -> JSON {
        do { return try query.search(value) } catch { throw CommandFailure.usage("\(error)") }
    }

    static func parseWait(_ condition: String) throws -> (path: JMESPath, value: String) {
        guard let eq = condition.lastIndex(of: "=") else { throw CommandFailure.usage("--wait-until takes PATH=VALUE, e.g. status=ACTIVE") }
        return (try compile(String(condition[..<eq])), String(condition[condition.index(after: eq)...]))
    }

    /// aws-cli's waiters, simply: poll every 200 ms until the value at PATH is VALUE; a value
    /// ending in `_FAILED` is a terminal failure.
    static func waitUntil(_ condition: (path: JMESPath, value: String), first: JSON, deadline: Date, _ again: () throws -> JSON) throws -> JSON {
        var result = first
        while true {
            let value = try search(condition.path, result).stringValue ?? ""
            if value == condition.value { return result }
            if value.hasSuffix("_FAILED") {
                throw CommandFailure(code: .connection, message: "Waiter failed: \(condition.path.expression) is \(value), a terminal failure state\n\(JSONWriter.string(result, pretty: true))")
            }
            if Date() > deadline {
                throw CommandFailure(code: .connection, message: "Waiter timed out: \(condition.path.expression) is still \(value.isEmpty ? "absent" : value)")
            }
            usleep(200_000)  // the waiter's polling interval
            result = try again()
        }
    }

    /// A JMESPath query on a value, for commands that pick one part out (`--query`, the demo).
    static func query(_ value: JSON, _ expression: String) throws -> JSON {
        try search(try compile(expression), value)
    }

    static func readParams(_ value: String?) throws -> JSON {
        guard let value else { return [:] }
        var text = value
        for prefix in ["file://", "@"] where value.hasPrefix(prefix) {
            let path = String(value.dropFirst(prefix.count))
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandFailure.usage("Error parsing parameter '--params': Unable to load paramfile \(value): [Errno 2] No such file or directory: '\(path)'")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        do {
            let json = try JSONParser.parse(text)
            guard case .object = json else { throw CommandFailure.usage("Error parsing parameter '--params': expected a JSON object, got \(json.typeName)") }
            return json
        } catch let e as JSONParseError {
            throw CommandFailure.usage("Error parsing parameter '--params': Invalid JSON: \(e)")
        }
    }
}

/// The methods account nodes serve, for checking a method before connecting, suggesting the
/// one meant, and listing them.
enum MethodCatalog {
    static let methods: [String] = AccountNodeCore.methods

    static var services: [String] { Array(Set(methods.map { String($0.split(separator: ".")[0]) })).sorted() }

    static func operations(of service: String) -> [String] {
        methods.filter { $0.hasPrefix(service + ".") }.map { String($0.dropFirst(service.count + 1)) }
    }

    /// Refuses (exit 252) a method no node serves, naming the nearest ones. `admin.` methods
    /// (the node's own controls) go through.
    static func check(_ method: String) throws {
        if method.hasPrefix("admin.") || methods.contains(method) { return }
        let near = suggestions(for: method)
        let hint = near.isEmpty ? "" : "; did you mean \(near.joined(separator: " or "))?"
        let service = String(method.split(separator: ".").first ?? "")
        let listing = services.contains(service) ? "`crml call \(service) help` lists \(service)'s operations" : "services: \(services.joined(separator: ", "))"
        throw CommandFailure.usage("unknown method \(method)\(hint) (\(listing))")
    }

    /// Up to three served methods nearest to `method` by edit distance, ignoring case (the
    /// operation compared across all services too).
    static func suggestions(for method: String) -> [String] {
        let wanted = method.lowercased()
        let operation = String(wanted.split(separator: ".").last ?? "")
        let scored = methods.map { m -> (String, Int) in
            let lower = m.lowercased()
            let op = String(lower.split(separator: ".").last ?? "")
            return (m, min(distance(wanted, lower), distance(operation, op) + 1))
        }
        let limit = max(2, wanted.count / 4)
        let best = scored.map(\.1).min() ?? 0
        // Only as near as the nearest: a case slip names one method, not its neighbours too.
        return scored.filter { $0.1 <= min(limit, best == 0 ? 0 : best + 1) }.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.prefix(3).map(\.0)
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        var row = Array(0...y.count)
        for i in 1...max(1, x.count) where !x.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(1, y.count) where !y.isEmpty {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (x[i - 1] == y[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return x.isEmpty ? y.count : row[y.count]
    }
}

/// Finding a node and connecting to it with the right credentials, as every client command does.
enum NodeConnection {
    struct Target {
        var host: String
        var port: UInt16
        var credentials: ClientCredentials
    }

    static func connect(_ parsed: ParsedArguments) throws -> RPCClient {
        let target = try resolve(parsed)
        do {
            return try RPCClient.connect(host: target.host, port: target.port, credentials: target.credentials, timeout: 10, readerThread: false)
        } catch {
            throw failure(error, operation: "authenticate", endpoint: "\(target.host):\(target.port)")
        }
    }

    static func resolve(_ parsed: ParsedArguments) throws -> Target {
        let env = ProcessInfo.processInfo.environment
        let dir = ClusterDirectory.resolve(parsed)
        let profileName = parsed.value("profile") ?? env["AWS_PROFILE"]
        var account = try parsed.value("account").map { v -> AccountID in
            guard let a = AccountID(v) else { throw CommandFailure.usage("--account \(v) is not a 12-digit account id") }
            return a
        }
        var credentials: ClientCredentials?
        if parsed.value("profile") == nil, let key = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"] {
            // aws-cli's order: --profile, then credentials in the environment, then AWS_PROFILE.
            credentials = .accessKey(key, secret: secret)
        } else if let profileName {
            guard let data = FileManager.default.contents(atPath: dir.credentialsFile) else {
                throw CommandFailure.usage("The config profile (\(profileName)) could not be found: no credentials file at \(dir.credentialsFile)")
            }
            guard let p = CredentialsFile.parse(String(decoding: data, as: UTF8.self)).profiles[profileName],
                  let key = p["aws_access_key_id"], let secret = p["aws_secret_access_key"] else {
                throw CommandFailure.usage("The config profile (\(profileName)) could not be found in \(dir.credentialsFile)")
            }
            credentials = .accessKey(key, secret: secret)
            if account == nil { account = p["aws_account_id"].flatMap(AccountID.init) ?? AccountID(profileName) }
        }
        guard let credentials else {
            throw CommandFailure.usage("Unable to locate credentials. Use --profile ACCOUNT (profiles are in \(dir.credentialsFile)) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
        }
        if let endpoint = parsed.value("endpoint") {
            let hp = endpoint.split(separator: ":")
            guard hp.count == 2, let port = UInt16(hp[1]) else { throw CommandFailure.usage("--endpoint must be HOST:PORT, got \(endpoint)") }
            return Target(host: String(hp[0]), port: port, credentials: credentials)
        }
        guard let account else {
            throw CommandFailure.usage("Which node? Give --account ID, --endpoint HOST:PORT, or a --profile named by an account id.")
        }
        let cluster = try dir.load()
        guard let a = cluster.account(account) else { throw CommandFailure.usage("account \(account) is not in \(dir.clusterFile)") }
        guard a.port != 0 else { throw CommandFailure(code: .connection, message: "account \(account)'s node has not started; run `crml cluster up --dir \(dir.path)`") }
        return Target(host: a.host, port: UInt16(clamping: a.port), credentials: credentials)
    }

    /// aws-cli's message and exit code for a failed call.
    static func failure(_ error: Error, operation: String, endpoint: String) -> CommandFailure {
        switch error {
        case RPCCallError.service(let e):
            return CommandFailure(code: .serviceError, message: "An error occurred (\(e.type)) when calling the \(operation) operation: \(e.message)")
        case RPCCallError.timeout(_, let s):
            return CommandFailure(code: .connection, message: "Read timeout on endpoint \(endpoint): no answer within \(Int(s)) s")
        case RPCCallError.connection(let why):
            return CommandFailure(code: .connection, message: "Could not connect to the endpoint \(endpoint): \(why)")
        default:
            return CommandFailure(code: .failed, message: "\(error)")
        }
    }
}
