// swift-tools-version:6.0
// Toolchain only: no package dependencies (see README, "Ground rules").
import PackageDescription

let package = Package(
    name: "CleanRoomsMLSim",
    products: [
        .executable(name: "crml", targets: ["CrmlCLI"]),
        .executable(name: "crml-node", targets: ["CrmlNode"]),
        .library(name: "AccessControl", targets: ["AccessControl"]),
    ],
    targets: [
        // Pure layers: no I/O.
        .target(name: "JSON", linkerSettings: [.linkedLibrary("m")]),
        .target(name: "Digest"),
        .target(name: "CleanRoomsModel", dependencies: ["JSON"]),
        .target(name: "AccessControl", dependencies: ["JSON", "CleanRoomsModel"]),

        // The lookalike engine: training data, a factorization model, audiences (pure).
        // The seedable generator everything deterministic draws from.
        .target(name: "Randomness"),

        .target(name: "Lookalike", dependencies: ["CleanRoomsModel", "Randomness"]),

        // aws-cli's --query language (pure).
        .target(name: "JMESPath", dependencies: ["JSON"]),
        // aws-cli's text and table output (pure).
        .target(name: "CLIOutput", dependencies: ["JSON"]),

        // HTTP/1.1 requests read incrementally and responses written (pure).
        .target(name: "HTTP"),
        // AWS Signature Version 4: canonical requests, signing, verification (pure).
        .target(name: "SigV4", dependencies: ["Digest", "CleanRoomsModel", "HTTP"]),

        // AWS's wire protocols (rest-json, json 1.1, query, rest-xml) read and written from the
        // service models, behind SigV4 (pure: the node's HTTP listener drives it).
        .target(name: "AWSProtocols", dependencies: ["JSON", "CleanRoomsModel", "HTTP", "SigV4", "Digest"]),

        // The SQL subset of seed audience queries (parser and row filter, pure).
        .target(name: "SeedSQL"),

        // What a node's storage holds, as bytes: the log's records and segments, snapshots, and
        // the checks recovery makes (pure: the node and the simulator both read through it).
        .target(name: "StorageFormat", dependencies: ["JSON", "Digest", "AccountNode"]),

        // The account node's state machine (pure: returns effects, never performs them).
        .target(name: "Checker", dependencies: ["JSON"]),
        // A consistency campaign's clients and fault schedule, without a transport: shared by
        // `crml check run` (real processes) and `crml sim` (simulated time).
        .target(name: "Campaign", dependencies: ["Checker", "JSON", "AccountNode", "Lookalike"]),
        // Whole clusters on simulated time: the real cores over a simulated network, disk and
        // clock, with the campaign's clients, nemesis and checker (pure: no I/O of its own).
        .target(name: "Simulation", dependencies: ["AccountNode", "StorageFormat", "Campaign", "Checker", "JSON", "CleanRoomsModel", "Digest", "Lookalike"]),
        .target(name: "AccountNode", dependencies: ["JSON", "CleanRoomsModel", "AccessControl", "Digest", "SeedSQL", "Randomness", "Lookalike"]),

        // I/O: the wire protocol (framing, JSON-RPC, handshake, sockets, event loop, client).
        // CEpoll: epoll(7), which Glibc's module does not export (our own C, four functions).
        .target(name: "CEpoll"),
        .target(name: "Wire", dependencies: ["JSON", "CleanRoomsModel", "Digest", "CEpoll"]),

        // Child processes (posix_spawn), for the launcher and the tests.
        .target(name: "Processes"),

        // The cluster file shared by the node and the CLI.
        .target(name: "ClusterConfig", dependencies: ["JSON", "CleanRoomsModel"]),

        // The shell: drives AccountNode with sockets, disk and threads.
        .target(name: "NodeRuntime", dependencies: ["AccountNode", "AWSProtocols", "HTTP", "SigV4", "StorageFormat", "Lookalike", "Wire", "JSON", "CleanRoomsModel", "Digest", "SeedSQL", "Randomness"]),

        // One account node as a process: what `crml-node` and `crml node` both run.
        .target(name: "NodeCommand", dependencies: ["NodeRuntime", "AccountNode", "ClusterConfig", "Wire", "JSON", "CleanRoomsModel", "Digest"]),

        // Executables. `crml` also serves as a node (`crml node`), so the launcher needs no
        // second executable and `swift run crml …` builds everything it starts.
        .executableTarget(name: "CrmlNode", dependencies: ["NodeCommand"]),
        .executableTarget(name: "CrmlCLI", dependencies: ["JSON", "CleanRoomsModel", "AccessControl", "AccountNode", "Lookalike", "ClusterConfig", "Wire", "Digest", "Processes", "Checker", "NodeCommand", "JMESPath", "CLIOutput", "Campaign", "Simulation", "SigV4", "AWSProtocols", "HTTP", "Randomness"]),

        // Tests mirror the targets; TestSupport holds the shared helpers (processes, temp files).
        .target(name: "TestSupport", dependencies: ["Wire", "ClusterConfig", "JSON", "CleanRoomsModel", "Processes", "Lookalike", "Digest", "HTTP", "SigV4"], path: "Tests/TestSupport"),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "Randomness"]),
        .testTarget(name: "JMESPathTests", dependencies: ["JMESPath", "JSON"], exclude: ["vectors.json"]),
        .testTarget(name: "CLIOutputTests", dependencies: ["CLIOutput", "JSON"], exclude: ["vectors.json"]),
        .testTarget(name: "DigestTests", dependencies: ["Digest"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "TestSupport"]),
        .testTarget(name: "SigV4Tests", dependencies: ["SigV4", "Digest", "JSON", "TestSupport"], exclude: ["vectors.json"]),
        .testTarget(name: "AWSProtocolsTests", dependencies: ["AWSProtocols", "HTTP", "SigV4", "Digest", "JSON", "CleanRoomsModel", "TestSupport"], exclude: ["requests.json"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "JSON", "Digest"]),
        .testTarget(name: "AccountNodeTests", dependencies: ["AccountNode", "CleanRoomsModel", "JSON"]),
        .testTarget(name: "ClusterConfigTests", dependencies: ["ClusterConfig", "CleanRoomsModel", "JSON"]),
        .testTarget(name: "LookalikeTests", dependencies: ["Lookalike"]),
        .testTarget(name: "SeedSQLTests", dependencies: ["SeedSQL"]),
        .testTarget(name: "CleanRoomsModelTests", dependencies: ["CleanRoomsModel"]),
        .testTarget(name: "AccessControlTests", dependencies: ["AccessControl", "JSON", "CleanRoomsModel"]),
        .testTarget(name: "CrmlCLITests", dependencies: ["JSON", "TestSupport", "CrmlCLI", "CrmlNode"]),
        .testTarget(name: "CheckerTests", dependencies: ["Checker", "JSON"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Campaign", "AccountNode", "StorageFormat", "JSON", "TestSupport", "CrmlCLI"]),
        .testTarget(name: "CrossAccountTests", dependencies: ["TestSupport", "Wire", "JSON", "Lookalike", "ClusterConfig", "CrmlNode", "CrmlCLI", "SigV4", "Digest", "Processes"]),
        .testTarget(name: "NodeRuntimeTests", dependencies: ["NodeRuntime", "Lookalike", "AccountNode", "Wire", "JSON", "CleanRoomsModel", "ClusterConfig", "Digest", "TestSupport", "CrmlNode", "CrmlCLI"]),
    ]
)
