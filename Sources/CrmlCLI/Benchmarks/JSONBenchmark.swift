import Foundation
import JSON
import Wire

/// `crml bench json`: the project's JSON parser and writer on the messages a node handles most:
/// a read's request line and its answer (a `GetTrainingDataset` result).
enum JSONBenchmark {
    static let spec = CommandSpec(
        command: "crml bench json",
        summary: "Parses and writes a read's request line and its answer line on one thread: time per message and MB/s.",
        options: [("seconds", "how long to measure each case (default 2)")])

    static let arn = "arn:aws:cleanrooms-ml:us-west-1:111111111111:training-dataset/0f6a1c2e-8b3d-4e5f-9a7b-1c2d3e4f5a6b"

    static var request: RPCMessage {
        .request(id: .number(123_456), method: "cleanroomsml.GetTrainingDataset", params: ["trainingDatasetArn": .string(arn)])
    }

    static var answer: RPCMessage {
        let column: (String, String) -> JSON = { ["columnName": .string($0), "columnTypes": [.string($1)]] }
        return .result(id: .number(123_456), result: [
            "createTime": 1_764_400_000.125, "updateTime": 1_764_400_000.125, "name": "bench", "status": "ACTIVE",
            "trainingDatasetArn": .string(arn), "roleArn": "arn:aws:iam::111111111111:role/bench", "tags": ["team": "ads", "env": "test"],
            "description": "interactions of the bench users with their items",
            "trainingData": [["type": "INTERACTIONS", "inputConfig": [
                "schema": [column("user_id", "USER_ID"), column("item_id", "ITEM_ID"), column("timestamp", "TIMESTAMP"), column("event", "CATEGORICAL_FEATURE")],
                "dataSource": ["glueDataSource": ["databaseName": "bench", "tableName": "interactions", "catalogId": "111111111111"]]]]],
        ])
    }

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        let seconds = try parsed.double("seconds", default: 2)
        for (name, message) in [("request", request), ("answer", answer)] {
            let line = Array(message.line.dropLast())
            guard case .success(let back) = RPCMessage.parse(line), back == message else {
                throw CommandFailure(code: .failed, message: "the \(name) line does not read back as itself")
            }
            let parse = measure(seconds) { _ = RPCMessage.parse(line) }
            let write = measure(seconds) { _ = message.line }
            for (what, ns) in [("parse", parse), ("write", write)] {
                let text = "\(what) \(name) line (\(line.count) bytes)".padding(toLength: 36, withPad: " ", startingAt: 0)
                Console.out(text + String(format: "%8.2f µs   %7.1f MB/s\n", ns / 1000, Double(line.count) / ns * 1000))
            }
        }
        return .ok
    }

    /// Nanoseconds per call of `body`, over about `seconds`.
    static func measure(_ seconds: Double, _ body: () -> Void) -> Double {
        for _ in 0..<1000 { body() }  // warm up
        var calls = 0
        let start = Stopwatch.nanos()
        let end = start + UInt64(seconds * 1e9)
        var now = start
        while now < end {
            for _ in 0..<100 { body() }
            calls += 100
            now = Stopwatch.nanos()
        }
        return Double(now - start) / Double(calls)
    }
}
