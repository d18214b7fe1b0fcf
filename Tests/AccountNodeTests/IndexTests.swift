@testable import AccountNode
import JSON
import Testing

/// The indexes behind lists and lookups give exactly what a scan would, at every step of
/// random inserts, removals and evictions.
@Suite struct IndexTests {
    /// A tiny deterministic generator for the cases (the core's own is internal to it).
    struct Draw {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
    }

    @Test func sortedKeysMatchASortedSet() {
        var draw = Draw(state: 7)
        var keys = SortedKeys()
        var reference = Set<String>()
        for step in 0..<20_000 {
            let k = "k\(draw.next(3000))"
            if draw.next(3) == 0 {
                #expect(keys.remove(k) == (reference.remove(k) != nil))
            } else {
                #expect(keys.insert(k) == reference.insert(k).inserted)
            }
            if step % 997 == 0 {
                let sorted = reference.sorted()
                #expect(Array(keys.keys()) == sorted)
                #expect(keys.count == sorted.count)
                let after = "k\(draw.next(3000))"
                #expect(Array(keys.keys(after: after)) == sorted.filter { $0 > after })
                #expect(keys.contains(after) == reference.contains(after))
            }
        }
        #expect(SortedKeys(reference) == keys || Array(SortedKeys(reference).keys()) == Array(keys.keys()))
    }

    @Test func namesAreUniqueWhateverTheirCase() {
        var names = NameIndex(["Alice", "bob"])
        #expect(names.isTaken("ALICE") && names.isTaken("Bob") && !names.isTaken("carol"))
        names.remove("Alice")
        #expect(!names.isTaken("alice"))
        #expect(Array(names.sorted.keys()) == ["bob"])
    }

    func event(_ n: Int, time: Double, name: String, user: String?, resource: String) -> AuditEvent {
        AuditEvent(eventID: "id\(n)", eventName: name, eventSource: "iam.amazonaws.com", eventTime: time, readOnly: n % 2 == 0,
                   accessKeyID: user.map { "AK" + $0 }, username: user, resources: [.init(type: "AWS::IAM::User", name: resource)],
                   identity: .init(principalID: "", arn: "", accountID: "111111111111", userName: user ?? ""), region: "us-west-1",
                   sourceIP: "127.0.0.1", requestParameters: [:], errorCode: nil, errorMessage: nil)
    }

    /// Every page of every kind of lookup, over a trail that has wrapped many times and holds
    /// events recorded late, is exactly the filter of what the trail still holds, in the order
    /// it was recorded, newest first.
    @Test func auditLookupsMatchAScan() {
        var draw = Draw(state: 11)
        var trail = AuditTrail(capacity: 500)
        var all: [AuditEvent] = []
        var time = 1000.0
        for n in 0..<3_000 {
            time += Double(draw.next(3))  // equal times too
            // One in ten recorded late (a call that waited for another node), up to 4 s behind.
            let late = draw.next(10) == 0 ? Double(draw.next(5)) : 0
            let e = event(n, time: time - late, name: ["CreateUser", "GetUser", "ListUsers"][draw.next(3)],
                          user: draw.next(4) == 0 ? nil : "u\(draw.next(5))", resource: "r\(draw.next(40))")
            trail.append(e)
            all.append(e)
            guard n % 250 == 249 else { continue }
            let kept = Array(all.suffix(500))
            #expect(trail.oldestFirst.map(\.eventID) == kept.map(\.eventID))
            let cases: [(AuditTrail.Attribute, String)?] = [nil, (.eventName, "GetUser"), (.username, "u3"), (.resourceName, "r7"),
                                                           (.readOnly, "true"), (.eventId, kept[123].eventID), (.accessKeyId, "AKu1"),
                                                           (.username, "nobody")]
            for attribute in cases {
                let from = kept[draw.next(kept.count)].eventTime, to = from + Double(draw.next(400))
                for window in [(-Double.infinity, Double.infinity), (from, to)] {
                    let expected = kept.reversed().filter { e in
                        guard e.eventTime >= window.0 && e.eventTime <= window.1 else { return false }
                        guard let (a, v) = attribute else { return true }
                        return Self.matches(e, a, v)
                    }.map(\.eventID)
                    var got: [String] = []
                    var before: UInt64? = nil
                    var pages = 0
                    repeat {
                        let page = trail.lookup(attribute, from: window.0, to: window.1, before: before, limit: 7)
                        #expect(page.events.count <= 7)
                        #expect(page.next == nil || page.events.count == 7)
                        got += page.events.map(\.eventID)
                        before = page.next
                        pages += 1
                    } while before != nil && pages < 1000
                    #expect(got == expected, "\(String(describing: attribute)) \(window)")
                }
            }
        }
    }

    /// Whether `e` has attribute `a` equal to `v`, as CloudTrail's LookupAttributes mean it (the
    /// reference the indexed lookups are checked against).
    static func matches(_ e: AuditEvent, _ a: AuditTrail.Attribute, _ v: String) -> Bool {
        switch a {
        case .eventId: return e.eventID == v
        case .eventName: return e.eventName == v
        case .readOnly: return (e.readOnly ? "true" : "false") == v
        case .username: return e.username == v
        case .resourceType: return e.resources.contains { $0.type == v }
        case .resourceName: return e.resources.contains { $0.name == v }
        case .eventSource: return e.eventSource == v
        case .accessKeyId: return e.accessKeyID == v
        }
    }
}
