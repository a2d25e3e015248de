//! The `confab` command: serves the API (the default), applies migrations, and lets operators
//! manage organisations and API keys against the same database.

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use confab::auth::keys::{self, NewKey};
use confab::auth::{KeyCache, SCOPES};
use confab::http::{self, AppState, DEFAULT_BODY_LIMIT};
use confab::operators;
use confab::resources::REGISTRY;
use confab::store::{
    self, run_migrations, DatabaseUrl, Db, PoolOptions, Store, DEFAULT_DATABASE_URL,
};

/// Documents are built from many small allocations per row; mimalloc serves them from
/// thread-local pages, far cheaper than the system allocator under load. Built without
/// transparent huge pages (the `no_thp` feature): mimalloc would otherwise ask the kernel for
/// 2 MiB pages that a few live documents keep resident (peak RSS 71 MB against 41 MB under 64
/// connections, at the same throughput; BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        global = true,
        env = "CONFAB_BIND",
        default_value = "127.0.0.1:8080"
    )]
    bind: String,
    /// Do not create the `demo` organisation and key on an empty database.
    #[arg(long, global = true)]
    no_bootstrap: bool,
    /// How long a verified API key is trusted without asking the database again: a revoked key
    /// stops working within this time on every instance. 0 checks every request.
    #[arg(
        long,
        global = true,
        env = "CONFAB_KEY_CACHE_SECONDS",
        default_value_t = 2
    )]
    key_cache_seconds: u64,
    /// How long a client may take to send a request's body before it is answered 408.
    #[arg(
        long,
        global = true,
        env = "CONFAB_BODY_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    body_timeout_seconds: u64,
    /// How long a response may wait for a client that reads none of it before the connection
    /// is closed (each write that makes progress starts it again).
    #[arg(
        long,
        global = true,
        env = "CONFAB_WRITE_TIMEOUT_SECONDS",
        default_value_t = 30
    )]
    write_timeout_seconds: u64,
    /// The most bytes a JSON attribute (`metadata`) may take, encoded; larger ones are 422.
    #[arg(
        long,
        global = true,
        env = "CONFAB_MAX_OBJECT_BYTES",
        default_value_t = confab::jsonapi::input::DEFAULT_MAX_OBJECT_BYTES
    )]
    max_object_bytes: usize,
    /// Requests each key may make per minute on this instance (429 past it); 0 turns it off.
    #[arg(
        long,
        global = true,
        env = "CONFAB_RATE_LIMIT",
        default_value_t = http::DEFAULT_REQUESTS_PER_MINUTE
    )]
    rate_limit: u32,
    /// The most bytes of resources one response may carry; a read past it is 400, naming the
    /// parameter to narrow.
    #[arg(
        long,
        global = true,
        env = "CONFAB_MAX_RESPONSE_BYTES",
        default_value_t = http::DEFAULT_MAX_RESPONSE_BYTES
    )]
    max_response_bytes: usize,
    /// The most operations one Atomic Operations request may hold; past it the request is 413.
    #[arg(
        long,
        global = true,
        env = "CONFAB_MAX_OPERATIONS",
        default_value_t = confab::jsonapi::atomic::DEFAULT_MAX_OPERATIONS
    )]
    max_operations: usize,
    /// Requests a heavy key (one whose requests average over 3 ms of CPU) may have in progress
    /// at once on this instance; more wait their turn. 0 sets no bound.
    #[arg(
        long,
        global = true,
        env = "CONFAB_IN_FLIGHT_PER_KEY",
        default_value_t = http::DEFAULT_IN_FLIGHT_PER_KEY
    )]
    in_flight_per_key: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (what `confab` does with no subcommand). Applies pending migrations first.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the OpenAPI 3.1 description of the API (what `GET /api/openapi.json` serves).
    Openapi,
    /// Manage organisations.
    #[command(subcommand)]
    Organisations(OrganisationCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeyCommand),
    /// Remove what has outlived its use: answers kept for `Idempotency-Key` retries past 24 h
    /// and, with `--older-than`, soft-deleted conversations and items, for good.
    Purge {
        /// Remove for good what was deleted more than this many days ago.
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u32>,
    },
    /// Fill the database with deterministic data (organisations seed-1 …) for benchmarks.
    Seed {
        #[arg(long)]
        conversations: u64,
        #[arg(long, default_value_t = 2)]
        items_per_conversation: u64,
        #[arg(long, default_value_t = 1)]
        organisations: u64,
    },
}

#[derive(Subcommand)]
enum OrganisationCommand {
    /// Create an organisation and print its id.
    Create {
        #[arg(long)]
        name: String,
        /// Lowercase letters, digits and hyphens; made from the name when left out.
        #[arg(long)]
        slug: Option<String>,
    },
    /// Delete an organisation and everything it owns.
    Delete {
        /// The organisation's id or slug.
        organisation: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create a key; the key alone is printed on the last line (it cannot be shown again).
    Create {
        /// The organisation's id or slug.
        #[arg(long)]
        organisation: String,
        /// Comma-separated; all of conversation:read, conversation:write, organisation:read,
        /// organisation:write when left out.
        #[arg(long)]
        scopes: Option<String>,
        /// Make an `sk_test_` key rather than `sk_live_`.
        #[arg(long)]
        test: bool,
        /// Days until the key expires; never when left out.
        #[arg(long)]
        expires_in: Option<u32>,
    },
    /// List keys (never their secrets).
    List {
        /// Only this organisation's keys (id or slug).
        #[arg(long)]
        organisation: Option<String>,
    },
    /// Revoke the key with this prefix (as `keys list` shows it).
    Revoke { prefix: String },
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        // actix's HTTP/1 dispatcher logs a client's malformed request as an error; confab logs
        // how each connection ended itself (http/socket.rs: a warning for a client's mistake,
        // an error only for the server's), so the dispatcher's own lines would say it twice.
        .filter_module("actix_http::h1::dispatcher", log::LevelFilter::Off)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        None | Some(Command::Serve) => serve(&cli.database_url, &cli.serve),
        Some(Command::Migrate) => connect_and_migrate(&cli.database_url).map(|_| ()),
        Some(Command::Openapi) => {
            print!("{}", confab::jsonapi::openapi::document_text(&REGISTRY));
            Ok(())
        }
        Some(Command::Organisations(command)) => organisations(&cli.database_url, command),
        Some(Command::Keys(command)) => keys(&cli.database_url, command),
        Some(Command::Purge { older_than }) => purge(&cli.database_url, older_than),
        Some(Command::Seed {
            conversations,
            items_per_conversation,
            organisations,
        }) => seed(
            &cli.database_url,
            &operators::SeedPlan {
                organisations,
                conversations,
                items_per_conversation,
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("confab: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A connection of its own for a command that runs and exits (no pool threads left behind),
/// with the schema migrated.
fn purge(database_url: &str, older_than: Option<u32>) -> Result<(), String> {
    let mut conn = connect_and_migrate(database_url)?;
    let removed =
        store::idempotency::purge_expired(&mut conn).map_err(|error| error.to_string())?;
    println!("removed {removed} expired idempotency keys");
    if let Some(days) = older_than {
        let removed = operators::purge_deleted(&mut conn, days).map_err(|e| describe(&e))?;
        for (resource, count) in removed {
            println!("removed {count} {resource} resources deleted more than {days} days ago");
        }
    }
    Ok(())
}

fn connect_and_migrate(database_url: &str) -> Result<Db, String> {
    let url = DatabaseUrl::parse(database_url).map_err(|e| e.to_string())?;
    let mut conn = store::connect(&url).map_err(|e| e.to_string())?;
    for version in run_migrations(&mut conn).map_err(|e| e.to_string())? {
        log::info!("applied migration {version}");
    }
    Ok(conn)
}

fn open_and_migrate(database_url: &str) -> Result<Store, String> {
    let url = DatabaseUrl::parse(database_url).map_err(|e| e.to_string())?;
    let store = Store::open(&url, PoolOptions::default()).map_err(|e| e.to_string())?;
    let mut conn = store.connection().map_err(|e| e.to_string())?;
    for version in run_migrations(&mut conn).map_err(|e| e.to_string())? {
        log::info!("applied migration {version}");
    }
    Ok(store)
}

fn serve(database_url: &str, args: &ServeArgs) -> Result<(), String> {
    REGISTRY.check()?;
    let store = open_and_migrate(database_url)?;
    if !args.no_bootstrap {
        let mut conn = store.connection().map_err(|e| e.to_string())?;
        if let Some((_, key)) = operators::bootstrap(&mut conn).map_err(|e| e.to_string())? {
            // Printed once, to stdout, never logged.
            println!("Created organisation `demo` and an API key with every scope:");
            println!("{key}");
            println!("More keys: confab keys create --organisation demo [--scopes …] [--test]");
        }
    }
    confab::jsonapi::input::set_max_object_bytes(args.max_object_bytes);
    let listener = TcpListener::bind(&args.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let state = AppState {
        store,
        registry: &REGISTRY,
        body_limit: DEFAULT_BODY_LIMIT,
        timeouts: http::Timeouts {
            body: Duration::from_secs(args.body_timeout_seconds.max(1)),
            write: Duration::from_secs(args.write_timeout_seconds.max(1)),
            ..Default::default()
        },
        rate_limit: Arc::new(http::RateLimiter::new(args.rate_limit)),
        metrics: Default::default(),
        keys: Arc::new(KeyCache::new(Duration::from_secs(args.key_cache_seconds))),
        max_response_bytes: args.max_response_bytes,
        max_operations: args.max_operations.max(1),
        in_flight: Arc::new(http::InFlight::new(args.in_flight_per_key)),
    };
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    log::info!("confab listening on http://{}", args.bind);
    actix_web::rt::System::new().block_on(async move {
        http::serve(state, listener, workers)
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())
    })
}

fn organisations(database_url: &str, command: OrganisationCommand) -> Result<(), String> {
    let mut conn = connect_and_migrate(database_url)?;
    match command {
        OrganisationCommand::Create { name, slug } => {
            let id = operators::create_organisation(&mut conn, &name, slug.as_deref())
                .map_err(|e| describe(&e))?;
            println!("{id}");
        }
        OrganisationCommand::Delete { organisation } => {
            operators::delete_organisation(&mut conn, &organisation).map_err(|e| describe(&e))?;
            println!("deleted {organisation}");
        }
    }
    Ok(())
}

fn keys(database_url: &str, command: KeyCommand) -> Result<(), String> {
    let mut conn = connect_and_migrate(database_url)?;
    match command {
        KeyCommand::Create {
            organisation,
            scopes,
            test,
            expires_in,
        } => {
            let scopes = match scopes {
                Some(list) => keys::parse_scopes(&list)?,
                None => SCOPES.iter().map(|scope| scope.to_string()).collect(),
            };
            let organisation_id =
                operators::find_organisation(&mut conn, &organisation).map_err(|e| describe(&e))?;
            let key = keys::create_key(
                &mut conn,
                &NewKey {
                    organisation_id: organisation_id.clone(),
                    scopes: scopes.clone(),
                    test,
                    expires_in_days: expires_in,
                },
            )
            .map_err(|e| describe(&e))?;
            println!(
                "Key for organisation {organisation_id} with scopes {}; store it now, it is not shown again:",
                scopes.join(",")
            );
            println!("{key}");
        }
        KeyCommand::List { organisation } => {
            let organisation_id = match organisation {
                Some(organisation) => Some(
                    operators::find_organisation(&mut conn, &organisation)
                        .map_err(|e| describe(&e))?,
                ),
                None => None,
            };
            let keys =
                keys::list_keys(&mut conn, organisation_id.as_deref()).map_err(|e| describe(&e))?;
            println!("PREFIX\tORGANISATION\tSCOPES\tCREATED\tEXPIRES\tREVOKED\tLAST USED");
            for key in keys {
                let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    key.prefix,
                    key.organisation_id,
                    key.scopes.join(","),
                    key.created_at,
                    or_dash(key.expires_at),
                    or_dash(key.revoked_at),
                    or_dash(key.last_used_at)
                );
            }
        }
        KeyCommand::Revoke { prefix } => {
            if keys::revoke_key(&mut conn, &prefix).map_err(|e| describe(&e))? {
                println!("revoked {prefix}");
            } else {
                return Err(format!("no active key with prefix {prefix}"));
            }
        }
    }
    Ok(())
}

fn seed(database_url: &str, plan: &operators::SeedPlan) -> Result<(), String> {
    let mut conn = connect_and_migrate(database_url)?;
    let step = (plan.conversations / 10).max(1);
    let slugs = operators::seed(&mut conn, plan, |done| {
        if done % step == 0 || done == plan.conversations {
            log::info!("seeded {done} of {} conversations", plan.conversations);
        }
    })
    .map_err(|error| match error {
        confab::jsonapi::error::ApiError::Duplicate { .. } => {
            "this database is already seeded (seed-1 exists); seed an empty database".to_string()
        }
        other => describe(&other),
    })?;
    println!(
        "Seeded {} conversations with {} items each in {}.",
        plan.conversations,
        plan.items_per_conversation,
        slugs.join(", ")
    );
    Ok(())
}

/// An error as an operator reads it: the JSON:API detail, with the member it concerns.
fn describe(error: &confab::jsonapi::error::ApiError) -> String {
    error
        .to_document()
        .errors
        .iter()
        .map(|object| {
            let detail = object.detail.clone().unwrap_or_default();
            match object
                .source
                .as_ref()
                .and_then(|source| source.pointer.clone())
            {
                Some(pointer) if !pointer.is_empty() => format!("{detail} ({pointer})"),
                _ => detail,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
