//! `createsuperuser` and `changepassword`, the management commands brisk-auth adds to the
//! app's binary (`myapp createsuperuser`). At a terminal they ask, with the password typed
//! twice and not echoed; from a pipe they read one answer per line; with `--no-input`,
//! `createsuperuser` reads `BRISK_SUPERUSER_USERNAME`, `BRISK_SUPERUSER_EMAIL` and
//! `BRISK_SUPERUSER_PASSWORD` (as Django's `DJANGO_SUPERUSER_*`), for deployment scripts.
//! Passwords meet the validators either way.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use brisk::cli::Command;
use brisk::handler::BoxFuture;
use brisk_orm::Database;
use clap::{Arg, ArgAction, ArgMatches};

use crate::accounts::{check_username, AccountError, Accounts, Settings};
use crate::user::AuthUser;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many times a wrong answer is asked again before the command gives up.
const TRIES: usize = 3;

/// What the commands share: the settings and the app's database (if it installed one).
pub(crate) struct Shared<U: AuthUser> {
    pub(crate) settings: Arc<Settings>,
    pub(crate) db: Option<Database>,
    pub(crate) user: std::marker::PhantomData<fn() -> U>,
}

impl<U: AuthUser> Shared<U> {
    fn parts(&self) -> Result<(Accounts<U>, &Database), BoxError> {
        let db = self.db.as_ref().ok_or(
            "brisk-auth's commands need the app's database: install it before Auth (App::install(Database::from_env()?))",
        )?;
        Ok((Accounts::new(self.settings.clone(), None), db))
    }
}

/// Asks questions: at a terminal, or one line each from a pipe.
struct Prompt {
    terminal: bool,
}

impl Prompt {
    fn new() -> Self {
        Prompt { terminal: std::io::stdin().is_terminal() }
    }

    fn line(&mut self, question: &str) -> Result<String, BoxError> {
        if self.terminal {
            eprint!("{question}");
            let _ = std::io::stderr().flush();
        }
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer)? == 0 {
            return Err(
                format!("no answer to \"{}\" (end of input)", question.trim_end_matches([':', ' '])).into()
            );
        }
        Ok(answer.trim_end_matches(['\r', '\n']).to_owned())
    }

    fn secret(&mut self, question: &str) -> Result<String, BoxError> {
        if self.terminal {
            return Ok(rpassword::prompt_password(question)?);
        }
        self.line(question)
    }

    /// A new password, typed twice.
    fn new_password(&mut self) -> Result<String, BoxError> {
        for _ in 0..TRIES {
            let first = self.secret("Password: ")?;
            let again = self.secret("Password (again): ")?;
            if first == again {
                return Ok(first);
            }
            eprintln!("Error: Your passwords didn't match.");
        }
        Err("the passwords did not match".into())
    }
}

fn problems(e: &AccountError) -> Option<Vec<String>> {
    match e {
        AccountError::Invalid(problems) => Some(problems.iter().map(|(f, m)| format!("{f}: {m}")).collect()),
        _ => None,
    }
}

/// `createsuperuser`.
pub(crate) struct CreateSuperuser<U: AuthUser>(pub(crate) Arc<Shared<U>>);

impl<U: AuthUser> Command for CreateSuperuser<U> {
    fn name(&self) -> &'static str {
        "createsuperuser"
    }
    fn about(&self) -> &'static str {
        "Makes a superuser (asks; or --no-input with BRISK_SUPERUSER_USERNAME, _EMAIL, _PASSWORD)"
    }
    fn args(&self, command: clap::Command) -> clap::Command {
        command
            .arg(Arg::new("username").long("username").help("The login name"))
            .arg(Arg::new("email").long("email").help("The email address"))
            .arg(Arg::new("no-input").long("no-input").action(ArgAction::SetTrue).help(
                "Ask nothing: read BRISK_SUPERUSER_USERNAME, BRISK_SUPERUSER_EMAIL, BRISK_SUPERUSER_PASSWORD",
            ))
    }
    fn run<'a>(
        &'a self,
        args: &'a ArgMatches,
        out: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<i32, BoxError>> {
        Box::pin(async move {
            let (accounts, db) = self.0.parts()?;
            let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
            if args.get_flag("no-input") {
                let username = args
                    .get_one::<String>("username")
                    .cloned()
                    .or_else(|| env("BRISK_SUPERUSER_USERNAME"))
                    .ok_or("--no-input needs --username or BRISK_SUPERUSER_USERNAME")?;
                let email = args.get_one::<String>("email").cloned().or_else(|| env("BRISK_SUPERUSER_EMAIL"));
                let password = env("BRISK_SUPERUSER_PASSWORD")
                    .ok_or("--no-input needs BRISK_SUPERUSER_PASSWORD (a superuser without a password cannot log in)")?;
                return match accounts
                    .create_user(db, &username, email.as_deref().unwrap_or(""), Some(&password), true)
                    .await
                {
                    Ok(_) => {
                        writeln!(out, "Superuser {username} created.")?;
                        Ok(0)
                    }
                    Err(e) => match problems(&e) {
                        Some(list) => {
                            for p in list {
                                writeln!(out, "error: {p}")?;
                            }
                            Ok(1)
                        }
                        None => Err(e.to_string().into()),
                    },
                };
            }
            let mut prompt = Prompt::new();
            let mut username = args.get_one::<String>("username").cloned();
            for _ in 0..TRIES {
                let name = match username.take() {
                    Some(name) => name,
                    None => prompt.line("Username: ")?,
                };
                match check_username(&name) {
                    Err(m) => eprintln!("Error: {m}"),
                    Ok(()) if accounts.find(db, &name).await?.is_some() => {
                        eprintln!("Error: That username is already taken.")
                    }
                    Ok(()) => {
                        username = Some(name);
                        break;
                    }
                }
            }
            let username = username.ok_or("no acceptable username given")?;
            let email = match args.get_one::<String>("email") {
                Some(email) => email.clone(),
                None => prompt.line("Email address: ")?,
            };
            for _ in 0..TRIES {
                let password = prompt.new_password()?;
                match accounts.create_user(db, &username, &email, Some(&password), true).await {
                    Ok(_) => {
                        writeln!(out, "Superuser {username} created.")?;
                        return Ok(0);
                    }
                    Err(e) => match problems(&e) {
                        Some(list) => {
                            for p in &list {
                                eprintln!("Error: {p}");
                            }
                            // Only the password can be asked again.
                            if list.iter().any(|p| !p.starts_with("password:")) {
                                return Ok(1);
                            }
                        }
                        None => return Err(e.to_string().into()),
                    },
                }
            }
            writeln!(out, "error: no acceptable password given")?;
            Ok(1)
        })
    }
}

/// `changepassword USERNAME`.
pub(crate) struct ChangePassword<U: AuthUser>(pub(crate) Arc<Shared<U>>);

impl<U: AuthUser> Command for ChangePassword<U> {
    fn name(&self) -> &'static str {
        "changepassword"
    }
    fn about(&self) -> &'static str {
        "Sets a user's password (asked twice); the user's sessions end"
    }
    fn args(&self, command: clap::Command) -> clap::Command {
        command.arg(Arg::new("username").required(true).help("Whose password"))
    }
    fn run<'a>(
        &'a self,
        args: &'a ArgMatches,
        out: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<i32, BoxError>> {
        Box::pin(async move {
            let (accounts, db) = self.0.parts()?;
            let username = args.get_one::<String>("username").cloned().unwrap_or_default();
            let Some(mut user) = accounts.find(db, &username).await? else {
                writeln!(out, "error: no user {username:?}")?;
                return Ok(1);
            };
            let mut prompt = Prompt::new();
            eprintln!("Changing password for user {username}");
            for _ in 0..TRIES {
                let password = prompt.new_password()?;
                match accounts.set_password(db, &mut user, &password).await {
                    Ok(()) => {
                        writeln!(out, "Password changed successfully for user {username}.")?;
                        return Ok(0);
                    }
                    Err(e) => match problems(&e) {
                        Some(list) => {
                            for p in list {
                                eprintln!("Error: {p}");
                            }
                        }
                        None => return Err(e.to_string().into()),
                    },
                }
            }
            writeln!(out, "error: no acceptable password given")?;
            Ok(1)
        })
    }
}
