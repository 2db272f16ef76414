//! The `contend` binary: parse the command line, start the runtime, hand it to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = contend::cli::Cli::parse();
    contend::run::raise_descriptor_limit();
    if cli.command.races() {
        // Before the runtime starts its threads, so that they inherit it.
        contend::engine::slice::shorten();
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.command.worker_threads() {
        runtime.worker_threads(n);
    }
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(contend::cli::main(cli)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(2)
        }
    }
}

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
