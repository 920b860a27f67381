//! `myapp worker [--queues a,b] [--concurrency N]`: a process that runs only workers (and the
//! cron schedulers), until SIGTERM or Ctrl-C, then shuts down gracefully.

use std::io::Write;

use brisk::cli::Command;
use brisk::error::BoxError;
use brisk::handler::BoxFuture;
use brisk_orm::Database;

use crate::Jobs;

pub(crate) struct Worker {
    pub(crate) jobs: Jobs,
    pub(crate) db: Option<Database>,
}

impl Command for Worker {
    fn name(&self) -> &'static str {
        "worker"
    }

    fn about(&self) -> &'static str {
        "Runs background jobs and cron until SIGTERM (no web server)"
    }

    fn args(&self, command: clap::Command) -> clap::Command {
        command
            .arg(
                clap::Arg::new("queues")
                    .long("queues")
                    .value_name("A,B")
                    .help("Serve only these queues (comma-separated; default: every registered queue)"),
            )
            .arg(
                clap::Arg::new("concurrency")
                    .long("concurrency")
                    .value_name("N")
                    .value_parser(clap::value_parser!(usize))
                    .help("Jobs run at once per queue (default: the app's setting, 8)"),
            )
            .arg(
                clap::Arg::new("no-cron")
                    .long("no-cron")
                    .action(clap::ArgAction::SetTrue)
                    .help("Do not fire cron ticks in this process"),
            )
    }

    fn run<'a>(
        &'a self,
        args: &'a clap::ArgMatches,
        out: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<i32, BoxError>> {
        Box::pin(async move {
            let db = self.db.clone().ok_or("brisk-jobs needs the app's Database: install it before Jobs")?;
            let mut jobs = self.jobs.clone();
            if let Some(queues) = args.get_one::<String>("queues") {
                jobs = jobs.only_queues(queues.split(',').map(str::trim).filter(|q| !q.is_empty()));
            }
            if let Some(n) = args.get_one::<usize>("concurrency") {
                jobs = jobs.concurrency(*n);
            }
            if args.get_flag("no-cron") {
                jobs = jobs.cron_enabled(false);
            }
            let runner = jobs.start(&db)?;
            writeln!(out, "worker {} started; SIGTERM or Ctrl-C stops it", runner.worker_id())?;
            out.flush()?;
            brisk::shutdown_signal().await;
            writeln!(out, "stopping: running jobs get the grace period, the rest are released")?;
            runner.shutdown().await;
            Ok(0)
        })
    }
}
