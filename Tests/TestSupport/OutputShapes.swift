import CleanRoomsModel
import JSON
import Testing

/// Every answer a test's client gets from a real node is checked against AWS's output shape of
/// its operation (required members, types, enums, lengths), as the in-memory harness checks
/// the core's: a response that AWS's SDKs could not read fails the test that got it.
public enum OutputShapes {
    @Sendable public static func check(_ method: String, _ result: JSON) {
        let parts = method.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let model = ServiceModel.named(String(parts[0])), model.operations[String(parts[1])] != nil else { return }
        do { try model.validateOutput(operation: String(parts[1]), result) } catch {
            Issue.record("\(method) answered with a result that does not fit AWS's output shape: \(error)")
        }
    }
}
