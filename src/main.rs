//! The `confab` command: serves the API (the default) or applies migrations.

use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use confab::http::{self, AppState, DEFAULT_BODY_LIMIT};
use confab::resources::REGISTRY;
use confab::store::{run_migrations, DatabaseUrl, PoolOptions, Store, DEFAULT_DATABASE_URL};

#[derive(Parser)]
#[command(
    name = "confab",
    version,
    about = "A JSON:API 1.1 server for conversations"
)]
struct Cli {
    /// `postgres://…` for PostgreSQL; a file path or `sqlite://PATH` for SQLite.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (what `confab` does with no subcommand). Applies pending migrations first.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "CONFAB_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
    },
    /// Apply pending migrations and exit.
    Migrate,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Migrate) => migrate(&cli.database_url),
        Some(Command::Serve { bind }) => serve(&cli.database_url, &bind),
        None => {
            let bind = std::env::var("CONFAB_BIND").unwrap_or_else(|_| "127.0.0.1:8080".into());
            serve(&cli.database_url, &bind)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            log::error!("{message}");
            eprintln!("confab: {message}");
            ExitCode::FAILURE
        }
    }
}

fn open_and_migrate(database_url: &str) -> Result<Store, String> {
    let url = DatabaseUrl::parse(database_url).map_err(|e| e.to_string())?;
    let store = Store::open(&url, PoolOptions::default()).map_err(|e| e.to_string())?;
    let mut conn = store.connection().map_err(|e| e.to_string())?;
    let applied = run_migrations(&mut conn).map_err(|e| e.to_string())?;
    for version in &applied {
        log::info!("applied migration {version}");
    }
    Ok(store)
}

fn migrate(database_url: &str) -> Result<(), String> {
    open_and_migrate(database_url).map(|_| ())
}

fn serve(database_url: &str, bind: &str) -> Result<(), String> {
    REGISTRY.check()?;
    let store = open_and_migrate(database_url)?;
    let listener = TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let state = AppState {
        store,
        registry: &REGISTRY,
        body_limit: DEFAULT_BODY_LIMIT,
    };
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    log::info!("confab listening on http://{bind}");
    actix_web::rt::System::new().block_on(async move {
        http::serve(state, listener, workers)
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())
    })
}
