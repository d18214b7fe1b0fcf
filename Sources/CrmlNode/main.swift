import NodeCommand

/// `crml-node`: one AWS account as a process (see `NodeCommand`; `crml node` runs the same).
NodeCommand.main(Array(CommandLine.arguments.dropFirst()))
