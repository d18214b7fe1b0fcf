/// The version `crml --version` prints and every `crml check run` records with its results.
enum CrmlVersion {
    static let number = "0.3.0"
    static var line: String { "crml \(number) (AWS Clean Rooms ML cross-account simulation; Swift \(swiftVersion))" }

    static var swiftVersion: String {
        #if swift(>=6.3)
        return "6.3"
        #elseif swift(>=6.2)
        return "6.2"
        #elseif swift(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }
}
