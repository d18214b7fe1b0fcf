import Foundation
import Testing
import TestSupport

/// `crml call` as an aws-cli user types it: JMESPath queries, text and table output, file://
/// parameters, help on services and operations, suggestions for a mistyped method; and
/// `crml fault list` on a cluster that is down.
@Suite(.serialized) struct CallCommandTests {
    @Test("--query takes the JMESPath aws-cli users type; what it cannot do is refused with 252, never answered wrongly")
    func queriesAndOutputs() async throws {
        try await withCluster(label: "call") { c in
            func call(_ args: [String]) async throws -> ProcessResult {
                try await c.crml(["call"] + args + ["--profile", "111111111111"])
            }
            for name in ["alice", "bob"] {
                let r = try await call(["iam.CreateUser", "--params", "{\"UserName\": \"\(name)\", \"Path\": \"/team/\"}"])
                #expect(r.exitCode == 0, "\(r.stderrText)")
            }
            let params = FileManagerTemp.write("{\"UserName\": \"carol\"}")
            let created = try await call(["iam.CreateUser", "--params", "file://" + params, "--query", "User.UserName", "--output", "text"])
            #expect(created.stdoutText == "carol\n")

            let names = try await call(["iam.ListUsers", "--query", "Users[].UserName", "--output", "text"])
            #expect(names.stdoutText == "admin\talice\tbob\tcarol\n")
            let star = try await call(["iam.ListUsers", "--query", "Users[*].UserName"])
            #expect(star.stdoutText.contains("\"alice\"") && !star.stdoutText.contains("None"))
            let filtered = try await call(["iam.ListUsers", "--query", "Users[?Path=='/team/'].[UserName, Path]", "--output", "text"])
            #expect(filtered.stdoutText == "alice\t/team/\nbob\t/team/\n")
            let hash = try await call(["iam.ListUsers", "--query", "{count: length(Users), first: Users[0].UserName}", "--output", "text"])
            #expect(hash.stdoutText == "4\tadmin\n")
            let table = try await call(["iam.ListUsers", "--query", "Users[?Path=='/team/'].{Name: UserName}", "--output", "table"])
            #expect(table.stdoutText.contains("|  alice  |") && table.stdoutText.contains("ListUsers"), "\(table.stdoutText)")
            let rows = try await call(["iam.ListUsers", "--output", "text"])
            #expect(rows.stdoutText.hasPrefix("False\nUSERS\t"), "\(rows.stdoutText)")

            let bad = try await call(["iam.ListUsers", "--query", "Users[?Path=='/'.UserName"])
            #expect(bad.exitCode == 252 && bad.stderrText.contains("Bad value for --query"), "\(bad.stderrText)")
            let unknownFunction = try await call(["iam.ListUsers", "--query", "lenght(Users)"])
            #expect(unknownFunction.exitCode == 252 && unknownFunction.stderrText.contains("unknown function lenght()"))
            let missing = try await call(["iam.ListUsers", "--params", "file:///nonexistent.json"])
            #expect(missing.exitCode == 252 && missing.stderrText.contains("Unable to load paramfile"))
        }
    }

    @Test func typosAndHelp() async throws {
        let typo = try await crml(["call", "iam.CreateUsr"])
        #expect(typo.exitCode == 252)
        #expect(typo.stderrText.contains("did you mean iam.CreateUser?"), "\(typo.stderrText)")
        let wrongCase = try await crml(["call", "cleanroomsml.startaudiencegenerationjob"])
        #expect(wrongCase.stderrText.contains("did you mean cleanroomsml.StartAudienceGenerationJob?"))
        let service = try await crml(["call", "cleanroomsml", "help"])
        #expect(service.exitCode == 0 && service.stdoutText.contains("  cleanroomsml.StartAudienceGenerationJob\n"))
        let listed = try await crml(["call", "--list", "iam"])
        #expect(listed.stdoutText == service.stdoutText.replacingOccurrences(of: "cleanroomsml", with: "iam") || listed.stdoutText.contains("  iam.CreateUser\n"))
        let operation = try await crml(["call", "iam.CreateUser", "help"])
        #expect(operation.exitCode == 0 && operation.stdoutText.contains("UserName  string (required)"), "\(operation.stdoutText)")
        let services = try await crml(["call", "--list"])
        #expect(services.stdoutText.contains("  cleanroomsml\n") && services.stdoutText.contains("  sts\n"))
    }

    @Test("crml fault list fails (255) when a node is down, instead of saying there are no faults")
    func faultListWithTheClusterDown() async throws {
        try await withCluster(label: "faultdown") { c in
            let up = try await c.crml(["fault", "list"])
            #expect(up.exitCode == 0 && up.stdoutText.contains("no link faults"))
            _ = try await c.crml(["cluster", "down"])
            let down = try await c.crml(["fault", "list"])
            #expect(down.exitCode == 255, "\(down.stdoutText)")
            #expect(down.stderrText.contains("node is not running"))
        }
    }
}
