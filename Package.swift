// swift-tools-version:6.0
// Toolchain only: no package dependencies (see README, "Ground rules").
import PackageDescription

let package = Package(
    name: "CleanRoomsMLSim",
    products: [
        .executable(name: "crml", targets: ["CrmlCLI"]),
        .library(name: "AccessControl", targets: ["AccessControl"]),
    ],
    targets: [
        // Pure layers: no I/O.
        .target(name: "JSON", linkerSettings: [.linkedLibrary("m")]),
        .target(name: "CleanRoomsModel", dependencies: ["JSON"]),
        .target(name: "AccessControl", dependencies: ["JSON", "CleanRoomsModel"]),

        // Executables.
        .executableTarget(name: "CrmlCLI", dependencies: ["JSON", "CleanRoomsModel", "AccessControl"]),

        // Tests mirror the targets; TestSupport holds the shared helpers (processes, temp files).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "CleanRoomsModelTests", dependencies: ["CleanRoomsModel"]),
        .testTarget(name: "AccessControlTests", dependencies: ["AccessControl", "JSON", "CleanRoomsModel"]),
        .testTarget(name: "CrmlCLITests", dependencies: ["JSON", "TestSupport", "CrmlCLI"]),
    ]
)
