import AccountNode
import CleanRoomsModel
import JSON
import Testing

/// Every operation and every peer method, fed hostile params (wrong types, nulls, empty and
/// huge strings, nested junk) on a core holding real resources: no input traps, every call that
/// answers says what was wrong, and replaying the log still rebuilds the same state.
@Suite struct HostileInputTests {
    static let junk: [JSON] = [.null, .number(-1), .number(1e300), .string(""), .string(String(repeating: "x", count: 5000)), .bool(true),
                               .array([.object([:])]), .object(["a": .array([.null])]), .string("arn:aws:cleanrooms-ml:us-west-1:222222222222:x/../../")]

    /// The member names of a method's input shape (none for methods outside the service models).
    static func members(_ method: String) -> [String] {
        let parts = method.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let model = ServiceModel.named(parts[0]), let shape = model.operations[parts[1]]?.inputShape else { return [] }
        return model.members(of: shape)
    }

    static func encoded(_ core: AccountNodeCore) throws -> JSON { try JSON(encoding: core.state) }

    @Test("SIM-2 XA-7: hostile params for every operation never trap a node, get an error that says why, and leave a log that replays to the same state")
    func everyOperation() throws {
        let p = try CorePair()
        _ = try p.start("victim")
        var answered = 0, errors = 0
        for h in [p.a, p.b] {
            for method in AccountNodeCore.methods {
                var inputs: [JSON] = [[:], .null, .array([]), .string("x")]
                for member in Self.members(method) {
                    for value in Self.junk { inputs.append(.object([member: value])) }
                }
                for params in inputs {
                    let token = h.send(method, params)
                    guard let reply = h.replies[token] else { continue }  // waits for another node: the network below answers
                    answered += 1
                    if case .error(let e, _) = reply {
                        errors += 1
                        #expect(!e.message.isEmpty, "\(method) \(params): an error without a message")
                    }
                }
            }
        }
        p.pump()
        #expect(answered > 2000 && errors > answered / 2, "\(answered) answers, \(errors) errors")
        for h in [p.a, p.b] {
            #expect(try Self.encoded(h.replayed()) == (try Self.encoded(h.core)), "replaying \(h.core.config.account)'s log rebuilds its state")
        }
    }

    @Test("SIM-2 XA-8 CO-4: hostile params for every peer method never trap a node; each is answered with an error that says why (or an empty acknowledgement) and nothing is half made")
    func everyPeerMethod() throws {
        let p = try CorePair()
        _ = try p.start("victim")
        let methods = ["peer.StartJob", "peer.JobStatus", "peer.StartExport", "peer.DeleteJob", "peer.Sync", "peer.CollaborationChanged",
                       "peer.JoinCollaboration", "peer.LeaveCollaboration", "peer.CheckMembers", "peer.AssociationChanged", "peer.NoSuchMethod"]
        let names = ["jobID", "name", "configuredAudienceModelArn", "principal", "seedData", "jobs", "exports", "collaboration", "collaborationId",
                     "membershipId", "accounts", "ids", "after", "statuses", "associationId", "association"]
        var token: UInt64 = 5_000_000
        var sent: [(CoreHarness, UInt64)] = []
        for h in [p.a, p.b] {
            let from = h === p.a ? "222222222222" : "111111111111"
            for method in methods {
                var inputs: [JSON] = [[:], .null, .array([])]
                for name in names { for value in Self.junk { inputs.append(.object([name: value])) } }
                for params in inputs {
                    token += 1
                    sent.append((h, token))
                    h.perform(h.core.handlePeer(PeerRequest(token: RequestToken(token), from: from, method: method, params: params, now: h.now)))
                }
            }
        }
        // Every message is answered: an error that says why, or at most an empty acknowledgement.
        for (h, t) in sent {
            switch h.replies[t] {
            case nil: Issue.record("\(t) to \(h.core.config.account) got no answer")
            case .error(let e, _)?: #expect(!e.message.isEmpty)
            case .result(let r)?, .resultWithBody(let r, _)?: #expect(r == [:], "\(t) was answered \(r)")
            }
        }
        #expect(sent.count > 1000)
        p.pump()
        for h in [p.a, p.b] {
            #expect(try Self.encoded(h.replayed()) == (try Self.encoded(h.core)))
        }
        // The job both hold is intact.
        let arn = try #require(p.a.core.state.audienceGenerationJobs.keys.first)
        #expect(p.job(p.a, arn) != nil && p.job(p.b, CorePair.other(arn)) != nil)
    }
}
