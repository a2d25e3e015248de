//! Spec section: pagination; and the cursor pagination profile (`page[size|after|before]`).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::{expect_errors, parameter, Response, TestServer, MEDIA_TYPE};

const PROFILE: &str = "https://jsonapi.org/profiles/ethanresnick/cursor-pagination/";

fn seed(server: &TestServer, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| server.create_conversation(&server.organisation, json!({"channel": "chat"})))
        .collect()
}

fn page(response: &Response) -> Value {
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

fn ids(document: &Value) -> Vec<String> {
    document["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn link(document: &Value, name: &str) -> Option<String> {
    document["links"][name].as_str().map(str::to_string)
}

/// A cursor page: the profile is named in the Content-Type and in jsonapi.profile.
pub(crate) fn cursor_page(response: &Response) -> Value {
    let document = page(response);
    assert_eq!(
        response.header("content-type"),
        Some(format!("{MEDIA_TYPE}; profile=\"{PROFILE}\"").as_str())
    );
    assert_eq!(document["jsonapi"]["profile"], json!([PROFILE]));
    // pagination links: prev and next are always present, null when unavailable.
    assert!(document["links"].get("prev").is_some() && document["links"].get("next").is_some());
    document
}

#[test]
fn offset_pages_with_links_and_an_optional_total() {
    // pagination, pagination-links, pagination-keys, pagination-unavailable-link
    let server = TestServer::start();
    let created = seed(&server, 25);
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let first = page(&server.get("/api/conversations"));
    assert_eq!(ids(&first), newest_first[..20].to_vec());
    assert_eq!(
        response_content_type(&server.get("/api/conversations")),
        MEDIA_TYPE
    );
    assert_eq!(first["links"]["prev"], Value::Null);
    assert!(first["links"].get("last").is_none(), "last needs a count");
    assert!(first.get("meta").is_none());
    let next = link(&first, "next").unwrap();
    assert_eq!(
        next,
        "/api/conversations?page%5Boffset%5D=20&page%5Blimit%5D=20"
    );

    let second = page(&server.get(&next));
    assert_eq!(ids(&second), newest_first[20..].to_vec());
    assert_eq!(second["links"]["next"], Value::Null);
    assert_eq!(
        link(&second, "prev").unwrap(),
        "/api/conversations?page%5Boffset%5D=0&page%5Blimit%5D=20"
    );

    let counted =
        page(&server.get(
            "/api/conversations?page[offset]=10&page[limit]=5&page[count]=true&sort=created_at",
        ));
    assert_eq!(ids(&counted), created[10..15].to_vec());
    assert_eq!(counted["meta"], json!({"page": {"total": 25}}));
    assert_eq!(
        link(&counted, "last").unwrap(),
        "/api/conversations?page%5Bcount%5D=true&sort=created_at&page%5Boffset%5D=20&page%5Blimit%5D=5"
    );
    assert_eq!(link(&counted, "first").unwrap(), "/api/conversations?page%5Bcount%5D=true&sort=created_at&page%5Boffset%5D=0&page%5Blimit%5D=5");
    let beyond = page(&server.get("/api/conversations?page[offset]=100"));
    assert_eq!(beyond["data"], json!([]));
}

fn response_content_type(response: &Response) -> String {
    response
        .header("content-type")
        .unwrap_or_default()
        .to_string()
}

#[test]
fn bad_page_parameters_are_400() {
    let server = TestServer::start();
    for query in [
        "page[limit]=0",
        "page[limit]=101",
        "page[limit]=-1",
        "page[limit]=ten",
        "page[offset]=-5",
        "page[offset]=1.5",
        "page[size]=0",
        "page[size]=%2B5",
        "page[count]=yes",
        "page[number]=2",
    ] {
        let name = query.split('=').next().unwrap();
        expect_errors(
            &server.get(&format!("/api/conversations?{query}")),
            400,
            &[parameter(name)],
        );
    }
    // The two styles do not mix.
    expect_errors(
        &server.get("/api/conversations?page[offset]=0&page[size]=5"),
        400,
        &[parameter("page[size]")],
    );
}

#[test]
fn cursor_pages_walk_every_row_once_both_ways() {
    let server = TestServer::start();
    let created = seed(&server, 17);
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    let mut seen = Vec::new();
    let mut next = Some("/api/conversations?page[size]=5".to_string());
    let mut last_page = None;
    while let Some(path) = next {
        let document = cursor_page(&server.get(&path));
        seen.extend(ids(&document));
        next = link(&document, "next");
        last_page = Some(document);
    }
    assert_eq!(seen, newest_first);
    let last_page = last_page.unwrap();
    assert_eq!(ids(&last_page).len(), 2);
    // Backwards from the last page, following prev links.
    let mut backwards = Vec::new();
    let mut prev = link(&last_page, "prev");
    while let Some(path) = prev {
        let document = cursor_page(&server.get(&path));
        let mut page_ids = ids(&document);
        page_ids.reverse();
        backwards.extend(page_ids);
        prev = link(&document, "prev");
    }
    let mut expected: Vec<String> = newest_first[..15].to_vec();
    expected.reverse();
    assert_eq!(backwards, expected);
    // The first page has no previous page; a page[before] at the first row is empty.
    let first = cursor_page(&server.get("/api/conversations?page[size]=5"));
    assert_eq!(first["links"]["prev"], Value::Null);
}

#[test]
fn cursor_pages_follow_any_own_sort_and_related_collections() {
    let server = TestServer::start();
    let conversation = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let items: Vec<String> = (0..7)
        .map(|n| server.create_item(&conversation, &format!("m{n}")))
        .collect();
    let mut seen = Vec::new();
    let mut next = Some(format!("/api/conversations/{conversation}/conversation_items?page[size]=3&sort=-position&include=conversation"));
    while let Some(path) = next {
        let document = cursor_page(&server.get(&path));
        assert_eq!(document["included"][0]["id"], json!(conversation));
        seen.extend(ids(&document));
        next = link(&document, "next");
    }
    let mut expected = items.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    // Mixed directions.
    let mixed =
        cursor_page(&server.get("/api/conversation_items?page[size]=4&sort=role,-position"));
    let rest = cursor_page(&server.get(&link(&mixed, "next").unwrap()));
    let mut all = ids(&mixed);
    all.extend(ids(&rest));
    assert_eq!(all, expected);
}

#[test]
fn cursor_profile_errors() {
    let server = TestServer::start();
    let response = server.get("/api/conversations?page[size]=101");
    let document = expect_errors(&response, 400, &[parameter("page[size]")]);
    assert_eq!(
        document["errors"][0]["meta"],
        json!({"page": {"maxSize": 100}})
    );
    assert_eq!(
        document["errors"][0]["links"]["type"],
        json!("https://jsonapi.org/profiles/ethanresnick/cursor-pagination/max-size-exceeded")
    );
    let first = cursor_page(&server.get("/api/conversations?page[size]=1"));
    let cursor = "00.00";
    let document = expect_errors(
        &server.get(&format!(
            "/api/conversations?page[after]={cursor}&page[before]={cursor}"
        )),
        400,
        &[parameter("page[before]")],
    );
    assert_eq!(
        document["errors"][0]["links"]["type"],
        json!("https://jsonapi.org/profiles/ethanresnick/cursor-pagination/range-pagination-not-supported")
    );
    let document = expect_errors(
        &server.get("/api/conversation_items?page[size]=5&sort=conversation.created_at"),
        400,
        &[parameter("sort")],
    );
    assert_eq!(
        document["errors"][0]["links"]["type"],
        json!("https://jsonapi.org/profiles/ethanresnick/cursor-pagination/unsupported-sort")
    );
    assert_eq!(first["data"], json!([]));
}

#[test]
fn tampered_or_foreign_cursors_are_400() {
    let server = TestServer::start();
    seed(&server, 3);
    let first = cursor_page(&server.get("/api/conversations?page[size]=1"));
    let next = link(&first, "next").unwrap();
    let cursor = next.split("page%5Bafter%5D=").nth(1).unwrap().to_string();
    let mut tampered = cursor.clone().into_bytes();
    tampered[4] = if tampered[4] == b'3' { b'4' } else { b'3' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [
        tampered.as_str(),
        "garbage",
        "",
        "zz.zz",
        &cursor[..cursor.len() - 1],
    ] {
        let response = server.get(&format!(
            "/api/conversations?page[size]=1&page[after]={bad}"
        ));
        expect_errors(&response, 400, &[parameter("page[after]")]);
        let response = server.get(&format!(
            "/api/conversations?page[size]=1&page[before]={bad}"
        ));
        expect_errors(&response, 400, &[parameter("page[before]")]);
    }
    // A cursor of one sort does not serve another.
    let response = server.get(&format!(
        "/api/conversations?page[size]=1&sort=created_at&page[after]={cursor}"
    ));
    expect_errors(&response, 400, &[parameter("page[after]")]);
    // The genuine one works.
    cursor_page(&server.get(&format!(
        "/api/conversations?page[size]=1&page[after]={cursor}"
    )));
}

#[test]
fn a_cursor_walk_sees_every_row_exactly_once_while_another_writer_inserts() {
    let server = TestServer::start();
    let original: BTreeSet<String> = seed(&server, 40).into_iter().collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (walks, inserted) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut inserted = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && inserted < 200 {
                server.create_conversation(&server.organisation, json!({"channel": "chat"}));
                inserted += 1;
            }
            inserted
        });
        // Ascending (new rows land ahead of the walk) and descending (behind it).
        let mut walks = Vec::new();
        for sort in ["created_at", "-created_at"] {
            let mut walk = Vec::new();
            let mut next = Some(format!("/api/conversations?page[size]=3&sort={sort}"));
            while let Some(path) = next {
                let document = cursor_page(&server.get(&path));
                walk.extend(ids(&document));
                next = link(&document, "next");
            }
            walks.push(walk);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (walks, writer.join().unwrap())
    });
    assert!(inserted > 0, "the writer never ran");
    for walk in &walks {
        let unique: BTreeSet<&String> = walk.iter().collect();
        assert_eq!(unique.len(), walk.len(), "a row was shown twice");
        for id in &original {
            assert_eq!(
                walk.iter().filter(|seen| *seen == id).count(),
                1,
                "{id} not seen exactly once"
            );
        }
    }
}

#[test]
fn a_deep_cursor_page_costs_what_the_first_does() {
    let server = TestServer::start();
    seed(&server, 30);
    let measure = |path: &str| {
        let before = server.statements();
        let document = cursor_page(&server.get(path));
        (server.statements() - before, document)
    };
    let (first_cost, mut document) =
        measure("/api/conversations?page[size]=5&include=organisation");
    for _ in 0..4 {
        let next = link(&document, "next").unwrap();
        let (cost, deeper) = measure(&next);
        assert_eq!(cost, first_cost, "a deeper page costs more statements");
        document = deeper;
    }
}
