//! `almanac`: run the server (default), or work with rule files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use server::{Config, Server};

#[derive(Parser)]
#[command(
    name = "almanac",
    version,
    about = "A Prometheus-compatible time-series database"
)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Run,
    /// Check files, as `promtool check`.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Run unit tests, as `promtool test`.
    #[command(subcommand)]
    Test(TestCommand),
}

#[derive(Subcommand)]
enum TestCommand {
    /// Run rule unit tests (promtool's format). Exit code 0: all pass.
    Rules {
        files: Vec<String>,
        /// Run only test groups whose name matches (repeatable).
        #[arg(long)]
        run: Vec<String>,
        /// Ignore fields Prometheus's format does not know in rule files.
        #[arg(long)]
        ignore_unknown_fields: bool,
    },
}

#[derive(Subcommand)]
enum CheckCommand {
    /// Validate rule files (standard input when none are given). Exit code
    /// 0: valid; 1: invalid; 3: lint findings with --lint-fatal.
    Rules {
        files: Vec<String>,
        /// `duplicate-rules` (default) or `none`.
        #[arg(long, default_value = "duplicate-rules")]
        lint: String,
        /// Make lint findings an error (exit code 3).
        #[arg(long)]
        lint_fatal: bool,
        /// Ignore fields Prometheus's format does not know.
        #[arg(long)]
        ignore_unknown_fields: bool,
    },
}

/// Flags of the server; each one overrides the same setting of `--config`.
#[derive(Args, Clone, Default)]
struct RunArgs {
    /// YAML config file with the same settings as these flags.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:9009].
    #[arg(long, global = true)]
    listen: Option<String>,
    /// Directory for the WAL and blocks [default: ./data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Keep data this long, e.g. 15d; 0 keeps everything [default: 15d].
    #[arg(long, global = true)]
    retention: Option<String>,
    /// Keep at most this many bytes of blocks and WAL (0 = unlimited).
    #[arg(long, global = true)]
    retention_size: Option<u64>,
    /// Accept samples up to this far behind the newest, e.g. 30m [default: 0s].
    #[arg(long, global = true)]
    out_of_order_window: Option<String>,
    /// interval:<duration> | always | never [default: interval:1s].
    #[arg(long, global = true)]
    wal_sync: Option<String>,
    /// Maximum series in the head (0 = unlimited).
    #[arg(long, global = true)]
    max_series: Option<u64>,
    /// Query timeout [default: 2m].
    #[arg(long, global = true)]
    query_timeout: Option<String>,
    /// Rule file (globs allowed); repeatable; replaces `rule_files`.
    #[arg(long = "rules", global = true)]
    rules: Vec<String>,
    /// Alertmanager base URL; repeatable; replaces `alertmanagers`.
    #[arg(long = "alertmanager", global = true)]
    alertmanager: Vec<String>,
    /// Interval of rule groups that set none [default: 1m].
    #[arg(long, global = true)]
    evaluation_interval: Option<String>,
    /// URL of this server in alerts' links [default: http://<listen>].
    #[arg(long, global = true)]
    external_url: Option<String>,
    /// Log filter (tracing-subscriber syntax) [default: info].
    #[arg(long, global = true)]
    log_level: Option<String>,
}

impl RunArgs {
    /// The config file (or defaults) with these flags applied.
    fn config(&self) -> Result<Config, server::config::ConfigError> {
        let mut c = match &self.config {
            Some(p) => Config::from_file(p)?,
            None => Config::default(),
        };
        if let Some(v) = &self.listen {
            c.listen = v.clone();
        }
        if let Some(v) = &self.data_dir {
            c.data_dir = v.clone();
        }
        if let Some(v) = &self.retention {
            c.retention = v.clone();
        }
        if let Some(v) = self.retention_size {
            c.retention_size = v;
        }
        if let Some(v) = &self.out_of_order_window {
            c.out_of_order_window = v.clone();
        }
        if let Some(v) = &self.wal_sync {
            c.wal_sync = v.clone();
        }
        if let Some(v) = self.max_series {
            c.limits.max_series = v;
        }
        if let Some(v) = &self.query_timeout {
            c.query_timeout = v.clone();
        }
        if !self.rules.is_empty() {
            c.rule_files = self.rules.clone();
        }
        if !self.alertmanager.is_empty() {
            c.alertmanagers = self
                .alertmanager
                .iter()
                .map(|url| server::config::AlertmanagerConfig {
                    url: url.clone(),
                    ..Default::default()
                })
                .collect();
        }
        if let Some(v) = &self.evaluation_interval {
            c.evaluation_interval = v.clone();
        }
        if let Some(v) = &self.external_url {
            c.external_url = v.clone();
        }
        if let Some(v) = &self.log_level {
            c.log_level = v.clone();
        }
        c.validate()?;
        Ok(c)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run);
    // The server's configuration, read once; its `log_level` (with the
    // flag applied) sets the log filter. Otherwise the flag, else `info`.
    let config = matches!(command, Command::Run).then(|| cli.run.config());
    let log_level = match &config {
        Some(Ok(c)) => c.log_level.clone(),
        _ => cli.run.log_level.clone().unwrap_or_else(|| "info".into()),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&log_level).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match command {
        Command::Run => {
            let config = config.unwrap_or_else(|| cli.run.config());
            run(cli.run, config)
        }
        Command::Test(TestCommand::Rules {
            files,
            run,
            ignore_unknown_fields,
        }) => {
            let opts = rules::unittest::TestOptions {
                run,
                ignore_unknown_fields,
            };
            ExitCode::from(rules::unittest::test_rules(
                &files,
                &opts,
                &mut std::io::stdout(),
            ))
        }
        Command::Check(CheckCommand::Rules {
            files,
            lint,
            lint_fatal,
            ignore_unknown_fields,
        }) => {
            let opts = rules::check::CheckOptions {
                lint_duplicates: lint
                    .split(',')
                    .any(|l| l == "duplicate-rules" || l == "all"),
                lint_fatal,
                ignore_unknown_fields,
            };
            let stdin = if files.is_empty() {
                let mut s = String::new();
                let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s);
                Some(s)
            } else {
                None
            };
            ExitCode::from(rules::check::check_rules(
                &files,
                stdin.as_deref(),
                &opts,
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            ))
        }
    }
}

/// Runs the server with `config` (the file and flags of `args`, which
/// SIGHUP and `/-/reload` read again).
fn run(args: RunArgs, config: Result<Config, server::config::ConfigError>) -> ExitCode {
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("almanac: {e}");
            return ExitCode::from(2);
        }
    };
    // Queries are parsed and evaluated on these threads; at the parser's
    // nesting limit an unoptimized build needs ~4 MiB of stack (2 MiB is
    // the default). Untouched stack costs address space, not memory.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 << 20)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("almanac: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (code, replaying) = rt.block_on(async move {
        // Handlers first: a signal during the WAL replay must not kill the
        // process with the default action.
        let mut signals = match Signals::new() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("almanac: signals: {e}");
                return (ExitCode::FAILURE, false);
            }
        };
        let reload_args = args.clone();
        let handle = tokio::select! {
            started = Server::start(config) => match started {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("almanac: {e}");
                    return (ExitCode::FAILURE, false);
                }
            },
            // The replay only reads: nothing to sync or lose.
            () = signals.stop() => {
                tracing::info!("stopped during the WAL replay");
                return (ExitCode::SUCCESS, true);
            }
        };
        handle
            .state
            .set_reloader(Box::new(move || reload_args.config()));
        while signals.next().await == Signal::Reload {
            match handle.state.reload() {
                Ok(()) => tracing::info!("configuration reloaded"),
                Err(e) => tracing::error!(error = %e, "reload failed"),
            }
        }
        tracing::info!("shutting down");
        match handle.shutdown().await {
            Ok(()) => (ExitCode::SUCCESS, false),
            Err(e) => {
                eprintln!("almanac: shutdown: {e}");
                (ExitCode::FAILURE, false)
            }
        }
    });
    if replaying {
        // Do not wait for the replay's blocking task.
        rt.shutdown_background();
    }
    code
}

/// SIGTERM and SIGINT (stop) and SIGHUP (reload), caught from start on.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Returns on SIGTERM or SIGINT.
    async fn stop(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }

    /// The next signal.
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Stop,
            _ = self.int.recv() => Signal::Stop,
            _ = self.hup.recv() => Signal::Reload,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Signal {
    Stop,
    Reload,
}
