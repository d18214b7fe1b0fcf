import CleanRoomsModel
import JSON

/// Validating collaborators (CO-1, CO-4): a start that names a collaboration goes ahead only if
/// the collaboration exists and both the submitter and the model owner are ACTIVE members.
///
/// The submitter's node first checks its own membership (no message needed to refuse a start
/// it knows is wrong). The model owner's node then asks the collaboration's creator, which may
/// be a third account, and carries on with the start only on a yes. An owner that cannot
/// reach the creator refuses the start (fails closed) with a retryable error, in time for the
/// submitter to hear it before its own wait ends.
enum CollaborationCheck {
    /// What a passed check tells the start.
    struct Passed {
        var queryLogStatus: String
    }

    /// What to carry on with once the creator has answered.
    enum Continuation {
        /// The model owner accepting another account's start.
        case peerStart(PeerRequest)
        /// A start within one account.
        case localStart(Call)
    }

    /// Each side's own part: this account's membership must be ACTIVE (`role` names the
    /// account in the message: the submitter or the configured audience model owner).
    static func requireOwnMembership(_ core: AccountNodeCore, _ id: String, role: String = "submitter") throws(AWSError) {
        let me = core.config.account.rawValue
        guard let c = core.state.collaborations[id], c.isLive else {
            throw AWSError(.resourceNotFound, "Collaboration \(id) not found: account \(me) is not invited to it, or it does not exist")
        }
        guard let m = core.state.membership(ofCollaboration: id), m.status == "ACTIVE" else {
            let status = core.state.membership(ofCollaboration: id).map { $0.isVisible ? $0.status : "not joined yet" } ?? (c.member(me)?.status ?? "not a member")
            throw AWSError(.accessDenied, "The \(role), account \(me), is not an ACTIVE member of collaboration \(id) (\(status))")
        }
    }

    /// Checks on this node if it created the collaboration (returns the verdict), otherwise
    /// asks the creator and returns nil: `then` runs when it answers.
    static func begin(_ core: AccountNodeCore, _ id: String, submitter: String, owner: String, then: Continuation) throws(AWSError) -> Passed? {
        let me = core.config.account.rawValue
        guard let c = core.state.collaborations[id] else {
            throw AWSError(.resourceNotFound, "Collaboration \(id) not found: account \(me), which owns the configured audience model, is not a member of it")
        }
        try requireOwnMembership(core, id, role: "configured audience model owner")
        if c.creatorAccountId == me {  // live: requireOwnMembership has checked it
            return try verdict(id, CollaborationReplication.checkAnswer(c, accounts: [submitter, owner]), submitter: submitter, owner: owner)
        }
        let token = MessageToken.collaborationCheck(n: core.nextMessageNumber())
        core.checks.add(token, then)
        // Half the submitter's wait, so that a refusal reaches it before it gives up.
        core.send(PeerMessage(token: token, account: c.creatorAccountId, method: CollaborationReplication.check,
                              params: ["collaborationId": .string(id), "accounts": [.string(submitter), .string(owner)]],
                              timeout: core.config.crossAccount.callTimeout / 2))
        return nil
    }

    /// The creator's answer, as a verdict.
    static func verdict(_ id: String, _ answer: JSON, submitter: String, owner: String) throws(AWSError) -> Passed {
        guard answer["exists"]?.boolValue == true else { throw AWSError(.resourceNotFound, "Collaboration \(id) does not exist") }
        // The owner (who asked) first: a former member hears only of itself.
        for (who, account) in [("configured audience model owner", owner), ("submitter", submitter)] {
            let status = answer["statuses"]?[account]?.stringValue ?? "NOT_A_MEMBER"
            guard status == "ACTIVE" else {
                throw AWSError(.accessDenied, "The \(who), account \(account), is not an ACTIVE member of collaboration \(id) (its status is \(status))")
            }
        }
        return Passed(queryLogStatus: answer["queryLogStatus"]?.stringValue ?? "DISABLED")
    }

    /// The creator answered (or did not): carry on or refuse.
    static func resume(_ core: AccountNodeCore, _ token: MessageToken, _ outcome: PeerOutcome, now: Double) {
        guard let then = core.checks.take(token) else { return }
        let (id, submitter, owner) = subject(core, then)
        let result: Result<Passed, AWSError>
        switch outcome {
        case .answered(let answer):
            do { result = .success(try verdict(id, answer, submitter: submitter, owner: owner)) } catch { result = .failure(error) }
        case .refused(let error):
            result = .failure(error)
        case .unreachable(let why):
            let creator = core.state.collaborations[id]?.creatorAccountId ?? "?"
            result = .failure(AWSError(.internalService, "Could not check collaboration \(id) with the node of account \(creator), which owns it (\(why)); no job was created. Retry the request."))
        }
        switch then {
        case .peerStart(let request):
            do {
                let passed = try result.get()
                core.answerPeer(request.token, try CrossAccountStart.startFromPeer(core, request, validated: passed))
            } catch {
                core.answerPeer(request.token, .error(error))
            }
        case .localStart(let call):
            do {
                let passed = try result.get()
                call.auditResources.removeAll()  // the start runs again from the top
                core.finish(call, try AudienceJobHandlers.startLocal(core, call, validated: passed))
            } catch {
                core.finish(call, .error(error))
            }
        }
    }

    private static func subject(_ core: AccountNodeCore, _ then: Continuation) -> (String, String, String) {
        switch then {
        case .peerStart(let r): return (r.optionalString("collaborationId") ?? "", r.from, core.config.account.rawValue)
        case .localStart(let call): return (call.optionalString("collaborationId") ?? "", core.config.account.rawValue, core.config.account.rawValue)
        }
    }
}
