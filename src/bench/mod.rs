//! Speed measurements: the `bench` subcommand's training-step timer.
