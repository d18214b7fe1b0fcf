/// The protocol steps a node can be told to crash at (`admin.ArmFailpoint`, `crml fault
/// failpoint`, `crml-node --failpoints`): one list for the nodes and the tools.
public enum Failpoints {
    public static let names = ["start.after-intent", "start.after-peer-created", "delete.after-log", "delete.apply", "run.during", "export.during"]
}
