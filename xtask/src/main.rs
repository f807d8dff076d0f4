//! `cargo xtask …`: the whole CI, as tables of steps and jobs run with
//! `std::process::Command`. `cargo xtask help` lists the steps.

mod plan;
mod run;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let steps = match plan::select(&args) {
        Ok(steps) => steps,
        Err(msg) => {
            eprintln!("{msg}\n\n{}", plan::usage());
            return ExitCode::from(2);
        }
    };
    if steps.is_empty() {
        println!("{}", plan::usage());
        return ExitCode::SUCCESS;
    }
    let root = run::workspace_root();
    let results = run::run_steps(&root, &steps);
    println!("\n{}", run::summary(&results));
    if results.iter().all(|r| r.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
