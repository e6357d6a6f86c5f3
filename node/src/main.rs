//! `healthledger`: the HealthLedger node binary.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches};
use hl_node::cli::{Cli, Command, LogCommand, QcCommand, RecordCommand, ResidentCommand};
use hl_node::config::{self, Node};
use hl_node::{commands, synth};

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli.data_dir_given = matches
        .value_source("data_dir")
        .is_some_and(|s| s != clap::parser::ValueSource::DefaultValue);
    init_tracing(&cli.log);
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes, outermost first.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: &Cli) -> Result<()> {
    let dir = &cli.data_dir;
    match &cli.command {
        Command::Init(a) => {
            let node = commands::init::run(dir, a)?;
            let signer = node.signer()?;
            println!("initialised {}", dir.display());
            println!("origin   {}", node.config.institution.origin);
            println!("log key  {}", signer.verifier());
            println!("config   {}", dir.join(config::CONFIG_FILE).display());
            Ok(())
        }
        Command::Ingest(a) => {
            let node = Node::load(dir)?;
            let ledger = node.open_ledger()?;
            commands::ingest::run(&ledger, &node.input_options()?, a)
        }
        Command::Qc(QcCommand::Rules(j)) => commands::qc::rules(j),
        Command::Qc(QcCommand::Report { resident, at, json }) => {
            let node = Node::load(dir)?;
            let ledger = node.open_ledger()?;
            commands::qc::report(
                &ledger,
                &node.pseudonymizer()?,
                resident.as_deref(),
                at,
                json,
            )
        }
        Command::Qc(QcCommand::Eval {
            labels,
            min,
            at,
            json,
        }) => {
            let node = Node::load(dir)?;
            let ledger = node.open_ledger()?;
            commands::qc::eval_labels(&ledger, &node.pseudonymizer()?, labels, *min, at, json)
        }
        Command::Resident(ResidentCommand::Show(a)) => {
            let node = Node::load(dir)?;
            let ledger = node.open_ledger()?;
            commands::resident::show(&ledger, &node.pseudonymizer()?, a)
        }
        Command::Qc(QcCommand::Events { resident, at, json }) => {
            let node = Node::load(dir)?;
            let ledger = node.open_ledger()?;
            commands::qc::events(
                &ledger,
                &node.pseudonymizer()?,
                resident.as_deref(),
                at,
                json,
            )
        }
        Command::Log(l) => {
            let node = Node::load(dir)?;
            let ledger = node.open_ledger()?;
            match l {
                LogCommand::Checkpoint(j) => commands::log::checkpoint(&ledger, j.json),
                LogCommand::Key => {
                    println!("{}", ledger.verifier());
                    Ok(())
                }
                LogCommand::Proof(a) => commands::log::proof(&ledger, a),
                LogCommand::Consistency(a) => commands::log::consistency(&ledger, a),
                LogCommand::Export(a) => {
                    let anchored = hl_node::chain::state::AnchorState::last_in(&node.data_dir)?
                        .map(|r| r.size);
                    let n = commands::log::export(&ledger, &node.pseudonymizer()?, a, anchored)?;
                    if let Some(out) = &a.out {
                        eprintln!("wrote {n} records to {}", out.display());
                    }
                    Ok(())
                }
            }
        }
        Command::Record(RecordCommand::Get(a)) => {
            let node = Node::load(dir)?;
            commands::log::record_get(&node.open_ledger()?, a)
        }
        Command::Verify(a) => commands::verify::verify(a),
        Command::Fsck(j) => {
            let node = Node::load(dir)?;
            commands::verify::fsck(&node, j.json)
        }
        Command::Synth(a) => {
            let reference_date = time::Date::parse(
                &a.reference_date,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .with_context(|| {
                format!("--reference-date '{}' is not YYYY-MM-DD", a.reference_date)
            })?;
            let defect_rate = hl_node::cli::parse_defect_rate(&a.defect_rate)?;
            let opts = synth::SynthOptions {
                defect_rate,
                ..synth::SynthOptions::new(a.residents, a.seed, reference_date)
            };
            let w = synth::write_population(&opts, &a.out)?;
            println!(
                "wrote {} files with {} resources to {}",
                w.files,
                w.resources,
                a.out.display()
            );
            if defect_rate > 0.0 {
                println!(
                    "{} residents with a defect, labelled in {}",
                    w.defects,
                    a.out.join(synth::LABELS_FILE).display()
                );
            }
            Ok(())
        }
        Command::Demo(a) => commands::demo::run(a),
        Command::Dev(a) => commands::dev::run(cli.data_dir_given.then_some(dir.as_path()), a),
        Command::Token(t) => commands::token::run(dir, t),
        Command::Node => hl_node::daemon::run(Node::load(dir)?),
        Command::Chain(c) => commands::chain::run_chain(dir, c),
        Command::Anchor(c) => commands::chain::run_anchor(dir, c),
    }
}
