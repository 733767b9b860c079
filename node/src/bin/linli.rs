//! The `linli` command-line program (see `linli --help` and [`linli_node::cli`]).

fn main() -> std::process::ExitCode {
    linli_node::cli::main()
}
