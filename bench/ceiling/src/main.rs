//! Serves every `NAME.json` in a directory at `/NAME`, from memory, with confab's media type:
//! what actix-web alone can push for the same bytes confab sends, the ceiling confab's
//! throughput is compared with.
//!
//! confab-ceiling DIRECTORY ADDRESS WORKERS

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let directory = args.next().unwrap_or_else(|| ".".into());
    let address = args.next().unwrap_or_else(|| "127.0.0.1:18099".into());
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(2);
    let mut documents = HashMap::new();
    for entry in std::fs::read_dir(&directory)? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "json") {
            if let Some(stem) = path.file_stem().and_then(|stem| stem.to_str()) {
                let body = web::Bytes::from(std::fs::read(&path)?);
                documents.insert(format!("/{stem}"), body);
            }
        }
    }
    let documents = Arc::new(documents);
    HttpServer::new(move || {
        let documents = documents.clone();
        App::new().default_service(web::to(move |request: HttpRequest| {
            let body = documents.get(request.path()).cloned();
            async move {
                match body {
                    Some(body) => HttpResponse::Ok()
                        .insert_header(("Content-Type", "application/vnd.api+json"))
                        .insert_header(("Vary", "Accept"))
                        .body(body),
                    None => HttpResponse::NotFound().finish(),
                }
            }
        }))
    })
    .workers(workers)
    .bind(address)?
    .run()
    .await
}
