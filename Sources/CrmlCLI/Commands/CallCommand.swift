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
            Credentials as aws-cli takes them: --profile or AWS_PROFILE (from DIR/credentials), or
            AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. The node is the profile's account, --account, or
            --endpoint. Exit codes: 0 success, 254 the service answered with an error, 252 usage, 255 cannot
            connect.
            """,
        options: [("params", "the request as JSON, or @FILE to read it from a file (default {})"),
                  ("profile", "a profile of DIR/credentials (default $AWS_PROFILE)"),
                  ("account", "the account whose node to call"),
                  ("endpoint", "HOST:PORT of the node to call"),
                  ("timeout", "seconds to wait for the answer (default 60)"),
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
        do {
            let result = try client.call(method, params, timeout: timeout)
            Console.out(JSONWriter.string(result, pretty: true) + "\n")
            return .ok
        } catch {
            throw NodeConnection.failure(error, operation: String(parts[1]), endpoint: "\(client.host):\(client.port)")
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
        if let profileName {
            guard let data = FileManager.default.contents(atPath: dir.credentialsFile) else {
                throw CommandFailure.usage("The config profile (\(profileName)) could not be found: no credentials file at \(dir.credentialsFile)")
            }
            guard let p = CredentialsFile.parse(String(decoding: data, as: UTF8.self)).profiles[profileName],
                  let key = p["aws_access_key_id"], let secret = p["aws_secret_access_key"] else {
                throw CommandFailure.usage("The config profile (\(profileName)) could not be found in \(dir.credentialsFile)")
            }
            credentials = .accessKey(key, secret: secret)
            if account == nil { account = p["aws_account_id"].flatMap(AccountID.init) ?? AccountID(profileName) }
        } else if let key = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"] {
            credentials = .accessKey(key, secret: secret)
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
