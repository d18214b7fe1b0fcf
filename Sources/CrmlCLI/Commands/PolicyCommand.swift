import AccessControl
import CleanRoomsModel
import Foundation
import JSON

/// `crml policy simulate`: IAM's SimulateCustomPolicy, offline, on JSON from stdin or a file.
enum PolicyCommand {
    static let simulateSpec = CommandSpec(
        command: "crml policy simulate",
        summary: """
            Evaluates IAM policies without a cluster. Reads a SimulateCustomPolicy request (JSON) from
            stdin or FILE and prints the SimulatePolicyResponse (JSON) on stdout. Members: PolicyInputList,
            PermissionsBoundaryPolicyInputList, ActionNames, ResourceArns, ResourcePolicy, ResourceOwner,
            CallerArn, ContextEntries, MaxItems, Marker, and the extension OrganizationsPolicyInputList
            (service control policies of the caller's account). Exit 254 when the request is refused
            (InvalidInput, MalformedPolicyDocument), 252 when the input is not JSON.
            """,
        options: [("input", "read the request from FILE instead of stdin")])

    static var group: CommandGroup {
        CommandGroup(command: "crml policy", summary: "", subcommands: [
            ("simulate", simulateSpec, "IAM's SimulateCustomPolicy, offline"),
        ])
    }

    static func run(_ args: [String]) throws -> ExitCode {
        try group.run(args) { _, rest in try simulate(rest) }
    }

    static func simulate(_ args: [String]) throws -> ExitCode {
        guard let parsed = try simulateSpec.parse(args) else { return .ok }
        if let extra = parsed.positional.first { throw CommandFailure.usage("unexpected argument \"\(extra)\"") }
        let data: Data
        if let path = parsed.value("input") {
            guard let d = FileManager.default.contents(atPath: path) else {
                throw CommandFailure.usage("cannot read --input \(path)")
            }
            data = d
        } else {
            data = Console.readStdin()
        }
        let request: JSON
        do {
            request = try JSONParser.parse([UInt8](data))
        } catch {
            throw CommandFailure.usage("Error parsing parameter 'input': Invalid JSON: \(error)")
        }
        do {
            let response = try PolicySimulator.simulateCustomPolicy(request)
            Console.out(JSONWriter.string(response, pretty: true) + "\n")
            return .ok
        } catch {
            throw CommandFailure(code: .serviceError, message: "An error occurred (\(error.code.name)) when calling the SimulateCustomPolicy operation: \(error.message)")
        }
    }
}
