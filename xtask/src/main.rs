//! `cargo xtask …`: the whole CI, as a table of steps whose jobs are run
//! with `std::process::Command`, and a table of packages that says which
//! crates each job covers. `cargo xtask help` lists the steps.

mod cli;
mod job;
mod manifest;
mod packages;
mod plan;
mod run;
mod steps;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Err(msg) => {
            eprintln!("{msg}\n\n{}", cli::usage());
            ExitCode::from(2)
        }
        Ok(cli::Command::Help) => {
            println!("{}", cli::usage());
            ExitCode::SUCCESS
        }
        Ok(cli::Command::InstallPackages(names)) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            match steps::install::install_missing(&names) {
                Ok(done) => {
                    println!("{done}");
                    ExitCode::SUCCESS
                }
                Err(why) => {
                    eprintln!("{why}");
                    ExitCode::FAILURE
                }
            }
        }
        Ok(cli::Command::Run(steps, options)) => {
            let root = run::workspace_root();
            let results = run::run_steps(&root, &steps, &options);
            println!("\n{}", run::summary(&results));
            if results.iter().all(|r| r.ok) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
