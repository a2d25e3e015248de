//! Spec section: inclusion of related resources (compound documents), and its cost.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::{expect_document, expect_errors, parameter, TestServer};

fn keys(resources: &Value) -> Vec<(String, String)> {
    resources
        .as_array()
        .expect("array of resources")
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// An organisation with `conversations` conversations of two items each.
fn seed(server: &TestServer, conversations: usize) -> (String, Vec<String>, Vec<String>) {
    let organisation = server.organisation.clone();
    let mut conversation_ids = Vec::new();
    let mut item_ids = Vec::new();
    for _ in 0..conversations {
        let conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
        item_ids.push(server.create_item(&conversation, "hello"));
        item_ids.push(server.create_item(&conversation, "thanks"));
        conversation_ids.push(conversation);
    }
    (organisation, conversation_ids, item_ids)
}

#[test]
fn included_resources_have_full_linkage_and_no_duplicates() {
    // compound-documents-top-level-included, compound-documents-full-linkage,
    // compound-documents-duplicates
    let server = TestServer::start();
    let (organisation, conversations, items) = seed(&server, 3);
    let document = expect_document(
        &server.get("/api/conversations?include=conversation_items.organisation"),
        200,
    );
    let included = keys(&document["included"]);
    let unique: BTreeSet<_> = included.iter().cloned().collect();
    assert_eq!(unique.len(), included.len(), "duplicates in included");
    let mut expected: BTreeSet<(String, String)> = items
        .iter()
        .map(|id| ("ConversationItem".to_string(), id.clone()))
        .collect();
    expected.insert(("Organisation".to_string(), organisation.clone()));
    assert_eq!(unique, expected);
    // Every included resource is reached by linkage from the primary data or another included one.
    let mut linked = BTreeSet::new();
    for resource in document["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(document["included"].as_array().unwrap())
    {
        for relationship in resource["relationships"].as_object().unwrap().values() {
            match &relationship["data"] {
                Value::Array(identifiers) => {
                    linked.extend(keys(&Value::Array(identifiers.clone())))
                }
                Value::Object(_) => linked.extend(keys(&json!([relationship["data"]]))),
                _ => {}
            }
        }
    }
    assert!(expected.is_subset(&linked));
    // Items are linked from their own conversation, in position order.
    for (index, conversation) in document["data"].as_array().unwrap().iter().enumerate() {
        let linkage = keys(&conversation["relationships"]["conversation_items"]["data"]);
        let which = conversations.len() - 1 - index; // newest first
        assert_eq!(conversation["id"], json!(conversations[which]));
        assert_eq!(
            linkage.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>(),
            items[which * 2..which * 2 + 2].to_vec()
        );
    }
}

#[test]
fn primary_resources_are_not_repeated_in_included() {
    // compound-documents-duplicates: a path back to the primary data adds nothing to included.
    let server = TestServer::start();
    let (organisation, conversations, items) = seed(&server, 1);
    let document = expect_document(
        &server.get(&format!(
            "/api/conversations/{}?include=conversation_items.conversation.organisation",
            conversations[0]
        )),
        200,
    );
    let included: BTreeSet<_> = keys(&document["included"]).into_iter().collect();
    let mut expected: BTreeSet<_> = items
        .iter()
        .map(|id| ("ConversationItem".to_string(), id.clone()))
        .collect();
    expected.insert(("Organisation".to_string(), organisation));
    assert_eq!(included, expected);
}

#[test]
fn only_requested_resources_are_included() {
    // inclusion-unrequested
    let server = TestServer::start();
    let (organisation, conversations, _) = seed(&server, 2);
    let document = expect_document(&server.get("/api/conversations?include=organisation"), 200);
    assert_eq!(
        keys(&document["included"]),
        vec![("Organisation".to_string(), organisation)]
    );
    for conversation in document["data"].as_array().unwrap() {
        assert!(conversation["relationships"]["conversation_items"]
            .get("data")
            .is_none());
    }
    let plain = expect_document(
        &server.get(&format!("/api/conversations/{}", conversations[0])),
        200,
    );
    assert!(plain.get("included").is_none());
}

#[test]
fn include_works_on_related_endpoints() {
    let server = TestServer::start();
    let (organisation, conversations, _) = seed(&server, 1);
    let document = expect_document(
        &server.get(&format!(
            "/api/conversations/{}/conversation_items?include=organisation",
            conversations[0]
        )),
        200,
    );
    assert_eq!(
        keys(&document["included"]),
        vec![("Organisation".to_string(), organisation)]
    );
}

#[test]
fn unknown_or_too_deep_paths_are_400() {
    // inclusion-bad-request
    let server = TestServer::start();
    for path in [
        "/api/conversations?include=author",
        "/api/conversations?include=conversation_items.nope",
        "/api/conversations?include=conversation_items..organisation",
        "/api/conversations?include=",
        "/api/conversations?include=conversation_items.conversation.conversation_items.organisation",
    ] {
        expect_errors(&server.get(path), 400, &[parameter("include")]);
    }
    // Every bad path is reported, one error each.
    expect_errors(
        &server.get("/api/conversations?include=a,organisation,b"),
        400,
        &[parameter("include"), parameter("include")],
    );
    // Linkage endpoints render identifiers only.
    expect_errors(
        &server.get("/api/organisations/x/relationships/conversations?include=conversations"),
        400,
        &[parameter("include")],
    );
}

#[test]
fn include_costs_one_statement_per_path_level_whatever_the_page_size() {
    // No N+1: the primary query, then one statement per include level.
    let measure = |conversations: usize| {
        let server = TestServer::start();
        seed(&server, conversations);
        let before = server.statements();
        let document = expect_document(
            &server.get("/api/conversations?include=conversation_items.organisation"),
            200,
        );
        let cost = server.statements() - before;
        assert_eq!(document["data"].as_array().unwrap().len(), conversations);
        assert_eq!(
            document["included"].as_array().unwrap().len(),
            conversations * 2 + 1
        );
        cost
    };
    let one = measure(1);
    let twenty = measure(20);
    assert_eq!(one, twenty, "statement count grows with the page");
    // Connection check-out ping + key lookup + conversations + items + organisations.
    assert!(one <= 5, "{one} statements");
}

fn ids(resources: &Value) -> Vec<String> {
    keys(resources).into_iter().map(|(_, id)| id).collect()
}

#[test]
fn an_included_to_many_brings_at_most_100_per_parent_and_links_to_the_rest() {
    // pagination, resource-relationships-pagination, pagination-links-object, pagination-keys,
    // pagination-unavailable-link: the relationship's `next` pages its linkage endpoint
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let long = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let short = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let long_items: Vec<String> = (0..102)
        .map(|n| server.create_item(&long, &format!("item {n}")))
        .collect();
    let short_item = server.create_item(&short, "only");
    let next = format!(
        "/api/conversations/{long}/relationships/conversation_items?page%5Boffset%5D=100&page%5Blimit%5D=100"
    );

    // One parent: a LIMIT. Several: a window (SQLite) or a LATERAL read (PostgreSQL) per
    // parent. All stop at 100.
    let one = expect_document(
        &server.get(&format!(
            "/api/conversations/{long}?include=conversation_items"
        )),
        200,
    );
    let relationship = &one["data"]["relationships"]["conversation_items"];
    assert_eq!(ids(&relationship["data"]), long_items[..100].to_vec());
    assert_eq!(relationship["links"]["next"], json!(next));
    assert_eq!(ids(&one["included"]), long_items[..100].to_vec());

    let before = server.statements();
    let page = expect_document(
        &server.get("/api/conversations?include=conversation_items"),
        200,
    );
    assert_eq!(server.statements() - before, 2, "one page, one include");
    let data = page["data"].as_array().expect("primary data");
    assert_eq!(data.len(), 2);
    for conversation in data {
        let relationship = &conversation["relationships"]["conversation_items"];
        if conversation["id"] == json!(long) {
            assert_eq!(ids(&relationship["data"]), long_items[..100].to_vec());
            assert_eq!(relationship["links"]["next"], json!(next));
        } else {
            assert_eq!(ids(&relationship["data"]), vec![short_item.clone()]);
            let links = relationship["links"].as_object().expect("links");
            assert!(!links.contains_key("next"), "nothing more: {links:?}");
        }
    }
    let mut expected: BTreeSet<String> = long_items[..100].iter().cloned().collect();
    expected.insert(short_item.clone());
    let included = ids(&page["included"]);
    assert_eq!(included.len(), 101);
    assert_eq!(included.into_iter().collect::<BTreeSet<_>>(), expected);

    // The link serves the rest, with links of its own.
    let rest = expect_document(&server.get(&next), 200);
    let base = format!("/api/conversations/{long}/relationships/conversation_items");
    assert_eq!(
        rest,
        json!({
            "jsonapi": {"version": "1.1"},
            "links": {
                "self": next,
                "related": format!("/api/conversations/{long}/conversation_items"),
                "first": format!("{base}?page%5Boffset%5D=0&page%5Blimit%5D=100"),
                "prev": format!("{base}?page%5Boffset%5D=0&page%5Blimit%5D=100"),
                "next": null,
            },
            "data": [
                {"type": "ConversationItem", "id": long_items[100]},
                {"type": "ConversationItem", "id": long_items[101]},
            ],
        })
    );
    // Without page parameters, the linkage endpoint answers the first 100 and a next link.
    let first = expect_document(&server.get(&base), 200);
    assert_eq!(ids(&first["data"]), long_items[..100].to_vec());
    assert_eq!(
        first["links"]["next"],
        json!(format!("{base}?page%5Boffset%5D=100&page%5Blimit%5D=100"))
    );
}

#[test]
fn a_response_past_the_budget_is_400_naming_what_to_narrow() {
    // pagination (the server limits what one response holds); error-objects-source-parameter
    let server = TestServer::start_with(crate::support::Settings {
        max_response_bytes: 40_000,
        ..Default::default()
    });
    let organisation = server.organisation.clone();
    let text = "x".repeat(2_000);
    let mut conversations = Vec::new();
    for _ in 0..3 {
        let conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
        for _ in 0..10 {
            server.create_item(&conversation, &text);
        }
        conversations.push(conversation);
    }
    let too_large = |path: &str, parameter_name: &str| {
        let document = expect_errors(&server.get(path), 400, &[parameter(parameter_name)]);
        let detail = document["errors"][0]["detail"].as_str().expect("detail");
        assert!(detail.contains("40000 bytes"), "{detail}");
        assert_eq!(document["errors"][0]["code"], "invalid_query_parameter");
    };
    // 30 items of about 2.5 KB: past 40,000 bytes, so the include is named.
    too_large("/api/conversations?include=conversation_items", "include");
    // One conversation's 10 fit, as does the page without includes.
    let one = expect_document(
        &server.get(&format!(
            "/api/conversations/{}?include=conversation_items",
            conversations[0]
        )),
        200,
    );
    assert_eq!(one["included"].as_array().map(Vec::len), Some(10));
    let page = expect_document(&server.get("/api/conversations"), 200);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(3));

    // Primary data alone past the budget names the page size of the style in use.
    let metadata = json!({"note": "y".repeat(15_000)});
    for _ in 0..3 {
        server.create_conversation(
            &organisation,
            json!({"channel": "chat", "metadata": metadata}),
        );
    }
    too_large("/api/conversations", "page[limit]");
    too_large("/api/conversations?page[size]=10", "page[size]");
    let smaller = expect_document(&server.get("/api/conversations?page[limit]=2"), 200);
    assert_eq!(smaller["data"].as_array().map(Vec::len), Some(2));
}
