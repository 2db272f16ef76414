//! The `contend` binary: parse the command line, hand it to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    contend::cli::main(contend::cli::Cli::parse()).await
}

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
