//! `roost`: exit code 0 ok, 1 runtime error, 2 usage or config error.

mod argv;
mod cli;
mod metrics;
mod show;

use std::process::ExitCode;

use argv::Stop;
use cli::Command;
use roost::config::Settings;

fn main() -> ExitCode {
    let mut args = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.into_string() {
            Ok(s) => args.push(s),
            Err(a) => {
                let a = a.to_string_lossy();
                eprintln!("error: invalid UTF-8 was detected in argument '{a}'");
                return ExitCode::from(2);
            }
        }
    }
    let command = match cli::parse(args) {
        Ok(c) => c,
        Err(Stop::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(Stop::Error(text)) => {
            eprint!("{text}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Run(args) => {
            let settings = match Settings::load(&args) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("roost: {e}");
                    return ExitCode::from(2);
                }
            };
            match roost::linux::run(settings) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("roost: {e}");
                    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
                }
            }
        }
        Command::Status(a) => show::status(&a),
        Command::Originators(a) => show::originators(&a),
        Command::Neighbours(a) => show::neighbours(&a),
        Command::Gateways(a) => show::gateways(&a),
        Command::Routes(a) => show::routes(&a),
        Command::Interfaces(a) => show::interfaces(&a),
        Command::Topology(a) => show::topology(&a),
        Command::Metrics(a) => show::metrics(&a),
        Command::Setup(a) => match roost::setup::run(&a.options()) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("roost setup: {}", e.msg);
                ExitCode::from(e.exit)
            }
        },
        #[cfg(feature = "sim")]
        Command::Sim(a) => {
            let started = std::time::Instant::now();
            let keys = match a
                .key_file
                .iter()
                .map(|p| roost::auth::Key::load(p))
                .collect()
            {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("roost sim: {e}");
                    return ExitCode::from(2);
                }
            };
            let r = roost::sim::cli(
                &a.topo, a.loss, &a.cut, &a.restore, a.duration, a.seed, keys,
            );
            match r {
                Ok(line) => {
                    println!("{line}");
                    eprintln!("wall time: {:.3} s", started.elapsed().as_secs_f64());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("roost sim: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
