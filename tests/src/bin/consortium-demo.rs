//! `consortium-demo`: the consortium demo of issue 6 on loopback (see
//! `hl_tests::localnet::demo`). Uses the `healthledger` binary next to this one (as cargo
//! builds both into target/<profile>/) unless given `--healthledger PATH`. Exits 0 only if
//! every step behaved as expected.

use std::path::PathBuf;
use std::process::ExitCode;

fn healthledger() -> Result<PathBuf, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (Some("--healthledger"), Some(p)) => return Ok(PathBuf::from(p)),
        (None, _) => {}
        _ => return Err("usage: consortium-demo [--healthledger PATH]".into()),
    }
    let me = std::env::current_exe().map_err(|e| format!("where am I: {e}"))?;
    let next = me.with_file_name("healthledger");
    if next.is_file() {
        Ok(next)
    } else {
        Err(format!(
            "no healthledger binary at {} (build it, or pass --healthledger PATH)",
            next.display()
        ))
    }
}

fn main() -> ExitCode {
    let bin = match healthledger() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("consortium-demo: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout();
    match hl_tests::localnet::demo::run(&bin, &mut out) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nconsortium-demo FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
