import AccountNode
import CleanRoomsModel
import JSON
import Testing

/// The cross-account protocols step by step, on two cores and a network the test controls: every
/// loss, duplicate and crash happens exactly where the test puts it.
@Suite struct CrossAccountProtocolTests {
    @Test("XA-1: A logs its intent and asks B; A's copy exists only once B has answered, under the same id")
    func startOrder() throws {
        let p = try CorePair()
        let token = p.a.send("cleanroomsml.StartAudienceGenerationJob", p.startParams("j"))
        #expect(p.a.replies[token] == nil, "A answered before B did")
        #expect(p.a.core.state.startIntents.count == 1)
        #expect(p.a.core.state.audienceGenerationJobs.isEmpty)
        #expect(p.a.sent.map(\.method) == ["peer.StartJob"])
        #expect(p.a.sent.first?.attachBlobs.count == 1, "the seed's bytes go along")
        let message = JSONWriter.string(p.a.sent.first?.params ?? .null)
        #expect(!message.contains("s3://"), "PV-1: no location in the message")
        p.pump()
        let arnA = try #require(try p.a.result("start", p.a.replies[token])["audienceGenerationJobArn"]?.stringValue)
        #expect(p.a.core.state.startIntents.isEmpty)
        let copyB = try #require(p.b.core.state.audienceGenerationJobs[CorePair.other(arnA)])
        #expect(copyB.name == "111111111111-j")
        #expect(copyB.jobRole == .owner && p.a.core.state.audienceGenerationJobs[arnA]?.jobRole == .submitter)
        #expect(p.b.work.filter { if case .generateAudience = $0 { return true } else { return false } }.count == 1, "XA-2: the run is B's")
        #expect(p.a.work.isEmpty)
        #expect(p.a.audit.filter { $0.eventName == "StartAudienceGenerationJob" }.count == 1)
        #expect(p.b.audit.filter { $0.eventName == "StartAudienceGenerationJob" }.isEmpty, "XA-10")
    }

    @Test("XA-2 PV-3: B pushes every status change; A applies only forward moves and sees metrics only when they are shared")
    func statusPushes() throws {
        for shared in ["ALL", "NONE"] {
            let p = try CorePair(sharedMetrics: shared)
            let arnA = try p.start("j")
            p.finishRun(CorePair.other(arnA))
            p.pump()
            let job = try #require(p.job(p.a, arnA))
            #expect(job["status"] == "ACTIVE")
            #expect((job["metrics"] != nil) == (shared == "ALL"), "sharedAudienceMetrics \(shared)")
            // A late, backward push changes nothing.
            p.nextPeerToken += 1
            p.a.perform(p.a.core.handlePeer(PeerRequest(token: RequestToken(p.nextPeerToken), from: "222222222222", method: "peer.JobStatus",
                                                        params: ["jobs": [["jobID": .string(String(arnA.suffix(36))), "status": "CREATE_IN_PROGRESS"]]], now: p.a.now)))
            #expect(p.job(p.a, arnA)?["status"] == "ACTIVE")
        }
    }

    @Test("XA-2: status pushes coalesce: one in flight per account, the next carries the newest status of every job changed meanwhile")
    func pushesCoalesce() throws {
        let p = try CorePair()
        let arns = try (0..<10).map { try p.start("j\($0)") }
        for arn in arns { p.finishRun(CorePair.other(arn)) }
        p.collect()
        let pushes = p.queue.filter { $0.message.method == "peer.JobStatus" }
        #expect(pushes.count == 1, "one push in flight, not \(pushes.count)")
        #expect(pushes.first?.message.params["jobs"]?.arrayValue?.count == 1)
        p.pump(limit: 1)
        p.collect()
        let next = p.queue.filter { $0.message.method == "peer.JobStatus" }
        #expect(next.count == 1)
        #expect(next.first?.message.params["jobs"]?.arrayValue?.count == 10, "every job's newest status in the next push")
        p.pump()
        #expect(arns.allSatisfy { p.job(p.a, $0)?["status"] == "ACTIVE" })
    }

    @Test("XA-1: B refusing leaves no job, even when a duplicate of the start comes after the policy allows it; B unreachable gives a retryable error, a tombstone and a delete for B, which refuses the late start")
    func refusedAndUnreachable() throws {
        let p = try CorePair()
        try p.b.call("cleanroomsml.DeleteConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(p.camArn)])
        let refused = p.a.send("cleanroomsml.StartAudienceGenerationJob", p.startParams("j"))
        p.collect()
        let refusedStart = try #require(p.queue.first)
        p.pump()
        guard case .error(let e, _)? = p.a.replies[refused] else { Issue.record("no error"); return }
        #expect(e.code.name == "AccessDeniedException")
        #expect(p.a.core.state.startIntents.isEmpty && p.a.core.state.audienceGenerationJobs.isEmpty && p.a.core.state.outbox.isEmpty)
        // A refusal answers one delivery: A tombstones the id and tells B, which refuses it from then on.
        #expect(p.a.core.state.tombstones.count == 1 && p.b.core.state.tombstones.count == 1)

        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"cleanrooms-ml:StartAudienceGenerationJob","Resource":"*"}]}"#
        try p.b.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(p.camArn), "configuredAudienceModelPolicy": .string(policy)])
        // The refused start, duplicated on the way, arrives again now that the policy allows it.
        p.queue.append(refusedStart)
        p.pump()
        #expect(p.b.core.state.audienceGenerationJobs.isEmpty, "the duplicate creates nothing")
        let lost = p.a.send("cleanroomsml.StartAudienceGenerationJob", p.startParams("k"))
        p.collect()
        let startMessage = try #require(p.queue.first)
        p.pump(limit: 1) { _ in .drop }
        guard case .error(let e2, _)? = p.a.replies[lost] else { Issue.record("no error"); return }
        #expect(e2.code.name == "InternalServiceException" && e2.code.httpStatus == 500)
        #expect(p.a.core.state.audienceGenerationJobs.isEmpty)
        #expect(p.a.core.state.tombstones.count == 2 && p.a.core.state.outbox.count == 1)
        p.pump()  // the abort reaches B first
        #expect(p.a.core.state.outbox.isEmpty)
        #expect(p.b.core.state.tombstones.count == 2)
        // The start arrives late (reordered): B refuses it, and nothing is created.
        p.queue.append(startMessage)
        p.pump()
        #expect(p.b.core.state.audienceGenerationJobs.isEmpty)
        #expect(p.a.core.state.audienceGenerationJobs.isEmpty)
    }

    @Test("XA-8: a crash between B's create and A's commit is aborted by A's recovery; B's copy and its seed go")
    func presumedAbort() throws {
        let p = try CorePair()
        let seedBlobsBefore = p.b.blobs.count
        _ = p.a.send("cleanroomsml.StartAudienceGenerationJob", p.startParams("j"))
        p.pump(limit: 1) { _ in .loseAnswer }
        p.queue.removeAll()  // A crashed: what it would have sent next never leaves
        #expect(p.b.core.state.audienceGenerationJobs.count == 1)
        #expect(p.b.core.state.audienceGenerationJobs.values.first?.plan?.seed.first?.inline == Base64.encode(Array("user_id\nu1\n".utf8)), "B holds the seed in its copy")
        // A restarts from its log. Recovery finds the intent (the lost answer was turned into an
        // abort in memory too, but a crash loses that: rebuild from the log written before it).
        let logBeforeAnswer = p.a.log.prefix { if case .startIntentResolved = $0 { return false } else { return true } }
        let restarted = AccountNodeCore(config: p.a.core.config, seed: 9)
        for e in logBeforeAnswer { restarted.replay(e) }
        #expect(restarted.state.startIntents.count == 1)
        let h = CoreHarness(wrapping: restarted)
        h.perform(restarted.resumeAfterRecovery(now: p.a.now))
        #expect(h.sent.map(\.method) == ["peer.DeleteJob"])
        p.a = h
        p.pump()
        #expect(p.b.core.state.audienceGenerationJobs.isEmpty)
        #expect(p.b.blobs.count == seedBlobsBefore, "B kept data of the job")
        #expect(h.core.state.outbox.isEmpty && h.core.state.startIntents.isEmpty)
    }

    @Test("ML-3 XA-2: an export's status pushed before the answer to its start is kept; a lost export push is repaired by sync")
    func exportPushes() throws {
        let p = try CorePair()
        let arnA = try p.start("j")
        p.finishRun(CorePair.other(arnA))
        p.pump()
        func export(_ name: String) throws -> (token: UInt64, id: String) {
            let token = p.a.send("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(arnA), "name": .string(name), "audienceSize": ["type": "ABSOLUTE", "value": 5]])
            p.collect()
            return (token, try #require(p.queue.last?.message.params["exportID"]?.stringValue))
        }
        func runExport(_ id: String) {
            p.b.perform(p.b.core.workStarted(id, now: p.b.now))
            p.b.perform(p.b.core.workFinished(.audienceExported(exportID: id, .success(Array("user_id,score\nu1,1\n".utf8))), now: p.b.now))
        }
        // B answers, runs the export and pushes ACTIVE, and the pushes overtake the answer.
        let (t1, id1) = try export("first")
        let (_, start) = p.queue.removeLast()
        p.nextPeerToken += 1
        p.b.perform(p.b.core.handlePeer(PeerRequest(token: RequestToken(p.nextPeerToken), from: "111111111111", method: start.method, params: start.params, now: p.b.now)))
        guard case .result(let answer)? = p.b.replies[p.nextPeerToken] else { Issue.record("B refused the export"); return }
        runExport(id1)
        p.pump()
        p.a.perform(p.a.core.peerAnswered(start.token, .answered(answer), now: p.a.now))
        _ = try p.a.result("export", p.a.replies[t1])
        #expect(p.a.core.state.audienceExportJobs[id1]?.status == "ACTIVE")
        #expect(p.a.core.state.audienceExportJobs[id1]?.outputLocation == nil, "PV-1")

        // Every push of the second export is lost; sync brings A up to date.
        let (t2, id2) = try export("second")
        p.pump()
        _ = try p.a.result("export", p.a.replies[t2])
        runExport(id2)
        p.pump { $0.method == "peer.JobStatus" ? .drop : .deliver }
        #expect(p.a.core.state.audienceExportJobs[id2]?.status == "CREATE_PENDING")
        p.a.perform(p.a.core.timerFired(.sync, now: p.a.now))
        p.pump()
        #expect(p.a.core.state.audienceExportJobs[id2]?.status == "ACTIVE")
    }

    @Test("PV-1: a failure about the seed reaches A with its message; any other failure only as a code and a fixed sentence")
    func failureMessages() throws {
        let p = try CorePair()
        for (code, message) in [("INSUFFICIENT_SEED_MATCHES", "3 of the seed's users match the model; 25 are needed"),
                                ("STORAGE_FAILURE", "open /data/nodes/222222222222/audiences/x.csv.tmp: No space left on device")] {
            let arnA = try p.start("j-\(code)")
            let arnB = CorePair.other(arnA)
            p.b.perform(p.b.core.workStarted(arnB, now: p.b.now))
            p.b.perform(p.b.core.workFinished(.audienceGenerated(jobArn: arnB, .failure(WorkFailure(statusCode: code, message: message))), now: p.b.now))
            p.pump()
            let a = try #require(p.job(p.a, arnA))
            #expect(a["status"] == "CREATE_FAILED")
            #expect(a["statusDetails"]?["statusCode"]?.stringValue == code)
            let seen = a["statusDetails"]?["message"]?.stringValue ?? ""
            #expect(code == "STORAGE_FAILURE" ? !seen.contains("/data/") && seen.contains("model owner") : seen == message, "\(seen)")
        }
    }

    @Test("XA-5 ML-3: B's name check counts B's own starts in flight; exports of the same name by A and by B never share an output object")
    func namesAndOutputs() throws {
        let p = try CorePair()
        // B itself is starting a job named 111111111111-foo elsewhere (its message held back).
        try p.b.call("s3.PutObject", ["Bucket": "data", "Key": "seed.csv", "Body": .string(Base64.encode(Array("user_id\nu1\n".utf8)))])
        let elsewhere = p.b.send("cleanroomsml.StartAudienceGenerationJob", [
            "name": "111111111111-foo", "configuredAudienceModelArn": "arn:aws:cleanrooms-ml:us-west-1:111111111111:configured-audience-model/x",
            "seedAudience": ["dataSource": ["s3Uri": "s3://data/seed.csv"], "roleArn": "arn:aws:iam::222222222222:role/crml"]])
        #expect(p.b.replies[elsewhere] == nil && p.b.core.state.startIntents.count == 1)
        p.b.sent.removeAll()
        let clash = p.a.send("cleanroomsml.StartAudienceGenerationJob", p.startParams("foo"))
        p.pump()
        guard case .error(let e, _)? = p.a.replies[clash] else { Issue.record("the clash was accepted"); return }
        #expect(e.code.name == "ConflictException")

        let arnA = try p.start("shared")
        let arnB = CorePair.other(arnA)
        p.finishRun(arnB)
        p.pump()
        try p.b.call("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(arnB), "name": "top", "audienceSize": ["type": "ABSOLUTE", "value": 5]])
        let fromA = p.a.send("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(arnA), "name": "top", "audienceSize": ["type": "ABSOLUTE", "value": 5]])
        p.pump()
        _ = try p.a.result("export", p.a.replies[fromA])
        for e in p.b.core.state.audienceExportJobs.values {
            p.b.perform(p.b.core.workFinished(.audienceExported(exportID: e.id, .success(Array("user_id,score\n\(e.id),1\n".utf8))), now: p.b.now))
        }
        let locations = p.b.core.state.audienceExportJobs.values.compactMap(\.outputLocation)
        #expect(locations.count == 2 && Set(locations).count == 2, "\(locations)")
    }

    @Test("XA-8: a seed too large to keep in the job's record is held as a blob on B and goes with the job")
    func largeSeed() throws {
        let p = try CorePair()
        let big = Array("user_id\n".utf8) + Array(repeating: Array("u1\n".utf8), count: 30_000).flatMap { $0 }
        try p.a.call("s3.PutObject", ["Bucket": "seeds", "Key": "seed.csv", "Body": .string(Base64.encode(big))])
        let before = p.b.blobs.count
        let arnA = try p.start("big")
        let seed = try #require(p.b.core.state.audienceGenerationJobs[CorePair.other(arnA)]?.plan?.seed.first)
        #expect(seed.inline == nil && p.b.blobs[seed.blob] == big)
        try p.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
        p.pump()
        #expect(p.b.blobs.count == before)
    }

    @Test("XA-8: delete states: the deleting side shows DELETE_PENDING, the other DELETE_IN_PROGRESS, exports are refused with a ConflictException, nothing leads back to ACTIVE, and then both copies are gone")
    func deleteStates() throws {
        let p = try CorePair()
        let arnA = try p.start("j")
        let arnB = CorePair.other(arnA)
        p.finishRun(arnB)
        p.pump()
        #expect(p.job(p.b, arnB)?["status"] == "ACTIVE" && p.job(p.a, arnA)?["status"] == "ACTIVE")
        let size: JSON = ["type": "ABSOLUTE", "value": 5]
        p.a.holdDeletes = true
        p.b.holdDeletes = true
        try p.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
        #expect(p.job(p.a, arnA)?["status"] == "DELETE_PENDING", "the deleting side answers at once, its copy being deleted")
        #expect { try p.a.call("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(arnA), "name": "x", "audienceSize": size]) }
            throws: { ($0 as? AWSError)?.code.name == "ConflictException" }
        // Deleting again is not an error, and changes nothing.
        try p.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
        p.collect()
        p.pump(limit: 1)  // the delete reaches B
        #expect(p.job(p.b, arnB)?["status"] == "DELETE_IN_PROGRESS")
        #expect { try p.b.call("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(arnB), "name": "y", "audienceSize": size]) }
            throws: { ($0 as? AWSError)?.code.name == "ConflictException" }
        // A late status (a run finishing, a push) cannot bring the copy back to ACTIVE.
        p.b.perform(p.b.core.workFinished(.audienceGenerated(jobArn: arnB, .success(.init(relevance: [0.5], recall: 0.5, candidates: 10, matchedSeeds: 5))), now: p.b.now))
        #expect(p.job(p.b, arnB)?["status"] == "DELETE_IN_PROGRESS")
        // Then each side finishes its delete: both copies are gone.
        p.a.holdDeletes = false
        p.b.holdDeletes = false
        p.a.fire { if case .finishDelete = $0 { return true } else { return false } }
        p.b.fire { if case .finishDelete = $0 { return true } else { return false } }
        p.pump()
        #expect(p.job(p.a, arnA) == nil && p.job(p.b, arnB) == nil)
        #expect(p.a.core.state.audienceGenerationJobs.isEmpty && p.b.core.state.audienceGenerationJobs.isEmpty)
    }

    @Test("XA-8: the outbox retries with capped exponential backoff and jitter until acknowledged; a duplicate delete is harmless")
    func outboxBackoff() throws {
        let p = try CorePair()
        let arnA = try p.start("j")
        try p.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
        // Each lost attempt sets a timer for the next; its delay is the backoff.
        func isRetry(_ t: TimerID) -> Bool { if case .outboxRetry = t { return true } else { return false } }
        var delays: [Double] = [0]
        for k in 0..<12 {
            p.collect()
            let pending = p.queue.filter { $0.message.method == "peer.DeleteJob" }
            #expect(pending.count == 1)
            p.pump(limit: 1) { _ in .drop }
            let retry = try #require(p.a.timers.last { isRetry($0.id) })
            if k < 11 {
                delays.append(retry.at - p.a.now)
                #expect(p.a.fire(isRetry) == 1)
            }
        }
        let t = p.a.core.config.crossAccount
        #expect(delays[0] == 0)
        for (k, d) in delays.enumerated().dropFirst() {
            let raw = min(t.retryCap, t.retryBase * Double(1 << (k - 1)))
            #expect(d >= raw * 0.5 && d < raw, "retry \(k): \(d) not in [\(raw / 2), \(raw))")
        }
        #expect(delays.last! >= t.retryCap * 0.5)
        // Delivered at last, twice (a duplicate): B deletes once and acknowledges both.
        #expect(p.a.fire(isRetry) == 1)
        p.collect()
        let message = p.queue[0]
        p.pump()
        p.queue.append(message)
        p.pump()
        #expect(p.a.core.state.outbox.isEmpty)
        #expect(p.b.core.state.audienceGenerationJobs.isEmpty && p.b.core.state.tombstones.count == 1)
    }

    @Test("XA-8: sync repairs a lost status push and a lost delete; deletes win; a copy the other side never heard of goes only after the grace period")
    func sync() throws {
        let p = try CorePair()
        let arnA = try p.start("j")
        p.finishRun(CorePair.other(arnA))
        p.pump { $0.method == "peer.JobStatus" ? .drop : .deliver }
        #expect(p.job(p.a, arnA)?["status"] == "CREATE_PENDING")
        p.a.perform(p.a.core.timerFired(.sync, now: p.a.now))
        p.pump()
        #expect(p.job(p.a, arnA)?["status"] == "ACTIVE")

        // B deletes; its delete never arrives; B's next sync carries the tombstone.
        let arn2 = try p.start("k")
        try p.b.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(CorePair.other(arn2))])
        p.collect()
        p.queue.removeAll { $0.message.method == "peer.DeleteJob" }
        p.b.perform(p.b.core.timerFired(.sync, now: p.b.now))
        p.pump { $0.method == "peer.DeleteJob" ? .drop : .deliver }
        #expect(p.job(p.a, arn2) == nil)

        // A digest from B that does not list A's job: kept while young, removed once past the grace.
        let arn3 = try p.start("m")
        let id = String(arn3.suffix(36))
        for (takenAt, kept) in [(p.a.now, true), (p.a.now + p.a.core.config.crossAccount.orphanGrace + 10, false)] {
            p.nextPeerToken += 1
            p.a.perform(p.a.core.handlePeer(PeerRequest(token: RequestToken(p.nextPeerToken), from: "222222222222", method: "peer.Sync",
                                                        params: ["takenAt": .number(takenAt), "after": "", "jobs": [], "intents": [], "tombstones": []], now: p.a.now)))
            #expect((p.a.core.state.job(id: id) != nil) == kept)
        }
    }

    @Test("SIM-2 XA-8: peer messages are checked: wrong types, unknown methods and a delete from an account that does not share the job change nothing")
    func hostilePeers() throws {
        let p = try CorePair()
        let arnA = try p.start("j")
        let arnB = CorePair.other(arnA)
        let id = String(arnA.suffix(36))
        let before = try JSON(encoding: p.b.core.state)
        for (from, method, params) in [
            ("111111111111", "peer.StartJob", JSON.object(["jobID": 7])),
            ("111111111111", "peer.StartJob", ["jobID": "00000000-0000-4000-8000-000000000001", "name": "x", "configuredAudienceModelArn": .string(p.camArn), "principal": "nobody"]),
            ("111111111111", "peer.StartJob", ["jobID": "00000000-0000-4000-8000-000000000002", "name": "x", "configuredAudienceModelArn": .string(p.camArn),
                                               "principal": ["arn": "arn:aws:iam::333333333333:user/eve", "kind": "user"], "seedData": ["AAAA"]]),
            ("111111111111", "peer.StartJob", ["jobID": "00000000-0000-4000-8000-000000000003", "name": "x", "configuredAudienceModelArn": .string(p.camArn),
                                               "principal": ["arn": "arn:aws:iam::111111111111:user/admin", "kind": "user"], "seedData": ["not base64!"]]),
            ("111111111111", "peer.DeleteJob", ["jobID": "../../etc/passwd"]),
            ("111111111111", "peer.Sync", ["jobs": "all"]),
            ("111111111111", "peer.JobStatus", ["jobs": 3]),
            ("111111111111", "peer.Nope", [:]),
            ("333333333333", "peer.DeleteJob", ["jobID": .string(id)]),
            ("333333333333", "peer.StartExport", ["jobID": .string(id), "exportID": .string(id), "name": "x"]),
        ] as [(String, String, JSON)] {
            p.nextPeerToken += 1
            p.b.perform(p.b.core.handlePeer(PeerRequest(token: RequestToken(p.nextPeerToken), from: from, method: method, params: params, now: p.b.now)))
            guard case .error? = p.b.replies[p.nextPeerToken] else { Issue.record("\(method) from \(from) with \(params) was accepted"); continue }
        }
        #expect(try JSON(encoding: p.b.core.state) == before)
        #expect(p.job(p.b, arnB) != nil)
    }

    @Test("TG-2: request tags stay with A's copy; B's copy takes the CAM's tags (FROM_PARENT_RESOURCE) or none (NONE)")
    func tags() throws {
        for policy in ["FROM_PARENT_RESOURCE", "NONE"] {
            let p = try CorePair(tagPolicy: policy)
            try p.a.call("iam.PutUserPolicy", ["UserName": "admin", "PolicyName": "x", "PolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#])
            let arnA = try p.start("j", tags: ["req": "a"])
            #expect(p.a.core.state.audienceGenerationJobs[arnA]?.tags == ["req": "a"])
            #expect(p.b.core.state.audienceGenerationJobs[CorePair.other(arnA)]?.tags == (policy == "NONE" ? [:] : ["owner": "b"]))
        }
    }

    @Test("SIM-1: replaying each node's log rebuilds exactly its state after starts, pushes, exports and deletes")
    func replay() throws {
        let p = try CorePair()
        let arn1 = try p.start("one")
        p.finishRun(CorePair.other(arn1))
        p.pump()
        let export = p.a.send("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(arn1), "name": "e", "audienceSize": ["type": "ABSOLUTE", "value": 5]])
        p.pump()
        _ = try p.a.result("export", p.a.replies[export])
        #expect(p.a.core.state.audienceExportJobs.count == 1 && p.b.core.state.audienceExportJobs.count == 1)
        let arn2 = try p.start("two")
        try p.b.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(CorePair.other(arn2))])
        p.pump()
        for h in [p.a, p.b] {
            #expect(try JSON(encoding: h.replayed().state) == JSON(encoding: h.core.state))
        }
    }
}
