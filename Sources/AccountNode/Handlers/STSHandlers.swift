import CleanRoomsModel
import JSON

/// `sts.GetCallerIdentity`: who am I. Needs no permission (not even an explicit deny stops it).
enum STSHandlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["sts.GetCallerIdentity"] = { core, call in
            .result(["UserId": .string(call.caller.principal.userID ?? ""), "Account": .string(core.config.account.rawValue),
                     "Arn": .string(call.caller.principal.arn)])
        }
    }
}
