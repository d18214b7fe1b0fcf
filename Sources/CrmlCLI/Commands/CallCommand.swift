import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Wire

/// `crml call METHOD`: one API call to a node, printed as aws-cli prints it.
enum CallCommand {
    static let spec = CommandSpec(
        usage: "crml call METHOD [--params JSON | --params @FILE] [--profile NAME] [--account ID] [--endpoint HOST:PORT] [--dir DIR]",
        summary: """
            Calls METHOD (service.Operation, e.g. iam.CreateUser) and prints the result as JSON.
            Credentials as aws-cli takes them, first found wins: --profile (from DIR/credentials),
            AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE. The node is --endpoint, --account, or the
            profile's account. Exit codes: 0 success, 254 the service answered with an error, 252 usage, 255 cannot
            connect.
            """,
        options: [("params", "the request as JSON, or @FILE to read it from a file (default {})"),
                  ("profile", "a profile of DIR/credentials (default $AWS_PROFILE)"),
                  ("account", "the account whose node to call"),
                  ("endpoint", "HOST:PORT of the node to call"),
                  ("timeout", "seconds to wait for the answer (default 60)"),
                  ("query", "print only this part of the result: a dot path with [N] indexes, e.g. AccessKey.AccessKeyId or Users[0].Arn"),
                  ("output", "json (default) or text (strings bare, one list element per line)"),
                  ("wait-until", "repeat the call until PATH=VALUE holds (e.g. status=ACTIVE); a value ending in _FAILED at PATH stops the wait with exit 255"),
                  ("wait-timeout", "seconds to wait with --wait-until (default 300)"),
                  ClusterCommand.dirOption])

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        guard let method = parsed.positional.first else { throw CommandFailure.usage("crml call needs a METHOD\n\n\(spec.helpText)") }
        guard parsed.positional.count == 1 else { throw CommandFailure.usage("unexpected argument \(parsed.positional[1])") }
        let parts = method.split(separator: ".")
        guard parts.count == 2 else { throw CommandFailure.usage("METHOD must be service.Operation (for example iam.CreateUser), got \(method)") }
        let params = try readParams(parsed.value("params"))
        let client = try NodeConnection.connect(parsed)
        let timeout = try parsed.double("timeout", default: 60)
        let output = parsed.value("output") ?? "json"
        guard output == "json" || output == "text" else { throw CommandFailure.usage("--output must be json or text, got \(output)") }
        do {
            var result = try client.call(method, params, timeout: timeout)
            if let condition = parsed.value("wait-until") {
                result = try waitUntil(condition, first: result, deadline: Date().addingTimeInterval(try parsed.double("wait-timeout", default: 300))) {
                    try client.call(method, params, timeout: timeout)
                }
            }
            if let q = parsed.value("query") { result = try query(result, q) }
            Console.out(output == "text" ? text(result) : JSONWriter.string(result, pretty: true) + "\n")
            return .ok
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw NodeConnection.failure(error, operation: String(parts[1]), endpoint: "\(client.host):\(client.port)")
        }
    }

    /// aws-cli's waiters, simply: poll every 200 ms until the value at PATH is VALUE; a value
    /// ending in `_FAILED` is a terminal failure.
    static func waitUntil(_ condition: String, first: JSON, deadline: Date, _ again: () throws -> JSON) throws -> JSON {
        guard let eq = condition.firstIndex(of: "=") else { throw CommandFailure.usage("--wait-until takes PATH=VALUE, e.g. status=ACTIVE") }
        let path = String(condition[..<eq]), want = String(condition[condition.index(after: eq)...])
        var result = first
        while true {
            let value = try query(result, path).stringValue ?? ""
            if value == want { return result }
            if value.hasSuffix("_FAILED") {
                throw CommandFailure(code: .connection, message: "Waiter failed: \(path) is \(value), a terminal failure state\n\(JSONWriter.string(result, pretty: true))")
            }
            if Date() > deadline {
                throw CommandFailure(code: .connection, message: "Waiter timed out: \(path) is still \(value.isEmpty ? "absent" : value)")
            }
            usleep(200_000)  // the waiter's polling interval
            result = try again()
        }
    }

    /// A small part of JMESPath: `a.b[0].c` and a final multiselect `a.[b,c]`. A missing member
    /// gives null, as aws-cli prints it.
    static func query(_ value: JSON, _ path: String) throws -> JSON {
        var current = value
        var rest = Substring(path)
        while !rest.isEmpty {
            if rest.first == "." { rest = rest.dropFirst(); continue }
            if rest.first == "[" {
                guard let close = rest.firstIndex(of: "]") else { throw CommandFailure.usage("--query \(path): unclosed [") }
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                guard let n = Int(inside) else {
                    // A multiselect list, [Name,Other]: the values of those members.
                    let names = inside.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    current = .array(names.map { current[$0] ?? .null })
                    rest = rest[rest.index(after: close)...]
                    continue
                }
                let items = current.arrayValue ?? []
                current = n >= 0 && n < items.count ? items[n] : (n < 0 && -n <= items.count ? items[items.count + n] : .null)
                rest = rest[rest.index(after: close)...]
                continue
            }
            let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
            current = current[String(rest[..<end])] ?? .null
            rest = rest[end...]
        }
        return current
    }

    /// aws-cli's text output, for the values scripts pick out.
    static func text(_ value: JSON) -> String {
        switch value {
        case .string(let s): return s + "\n"
        case .null: return "None\n"
        case .array(let a):
            // A list of scalars is one tab-separated line, as aws-cli prints it.
            if a.allSatisfy({ $0.arrayValue == nil && $0.objectValue == nil }) {
                return a.map { text($0).dropLast() }.joined(separator: "\t") + "\n"
            }
            return a.map { text($0) }.joined()
        case .object: return JSONWriter.string(value) + "\n"
        default: return JSONWriter.string(value) + "\n"
        }
    }

    static func readParams(_ value: String?) throws -> JSON {
        guard let value else { return [:] }
        var text = value
        if value.hasPrefix("@") {
            let path = String(value.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandFailure.usage("Error parsing parameter '--params': Unable to load paramfile \(path)")
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
