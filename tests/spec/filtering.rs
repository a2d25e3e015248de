//! Spec section: filtering (`filter[field]`, `filter[field][op]`).

use serde_json::json;

use crate::support::{attribute_of_each, expect_document, expect_errors, parameter, TestServer};

fn titles(server: &TestServer, query: &str) -> Vec<String> {
    let mut titles: Vec<String> =
        expect_document(&server.get(&format!("/api/conversations?{query}")), 200)["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|resource| {
                resource["attributes"]["title"]
                    .as_str()
                    .unwrap_or("<null>")
                    .to_string()
            })
            .collect();
    titles.sort();
    titles
}

fn seed(server: &TestServer) -> Vec<String> {
    let organisation = server.organisation.clone();
    let spec = [
        (
            "alpha",
            "chat",
            "active",
            json!({"plan": "pro", "seats": 5, "vip": true}),
        ),
        (
            "beta",
            "email",
            "completed",
            json!({"plan": "free", "seats": 1, "vip": false}),
        ),
        ("gamma", "chat", "pending", json!({"plan": "pro"})),
        ("delta's", "widget", "active", json!({})),
    ];
    spec.iter()
        .map(|(title, channel, status, metadata)| {
            // A conversation starts pending or active; an ended one is ended by an update.
            let starts = if *status == "pending" { "pending" } else { "active" };
            let mut attributes = json!({"title": title, "channel": channel, "status": starts, "metadata": metadata});
            if *channel == "email" {
                attributes["to_address"] = json!("customer@example.com");
            }
            let id = server.create_conversation(&organisation, attributes);
            // Items go in while the conversation runs: an ended one takes none.
            if ["alpha", "beta"].contains(title) {
                server.create_item(&id, &format!("in {title}"));
            }
            if *status != starts {
                let patch = json!({"data": {"type": "Conversation", "id": id, "attributes": {"status": status}}});
                expect_document(&server.patch(&format!("/api/conversations/{id}"), &patch), 200);
            }
            id
        })
        .collect()
}

#[test]
fn equality_any_of_and_comparisons() {
    // filtering: confab's filter syntax
    let server = TestServer::start();
    seed(&server);
    assert_eq!(
        titles(&server, "filter[status]=active"),
        vec!["alpha", "delta's"]
    );
    assert_eq!(
        titles(&server, "filter[status]=active,completed"),
        vec!["alpha", "beta", "delta's"]
    );
    assert_eq!(
        titles(&server, "filter%5Bstatus%5D=active%2Ccompleted"),
        vec!["alpha", "beta", "delta's"]
    );
    assert_eq!(
        titles(&server, "filter[status][ne]=active"),
        vec!["beta", "gamma"]
    );
    assert_eq!(titles(&server, "filter[status][in]=pending"), vec!["gamma"]);
    assert_eq!(
        titles(&server, "filter[channel]=chat&filter[status]=pending"),
        vec!["gamma"]
    );
    assert_eq!(titles(&server, "filter[title][contains]=et"), vec!["beta"]);
    assert_eq!(
        titles(&server, "filter[title][starts_with]=ga"),
        vec!["gamma"]
    );
    assert_eq!(
        titles(&server, "filter[title][contains]=ALPHA"),
        Vec::<String>::new(),
        "contains is case-sensitive"
    );
    assert_eq!(titles(&server, "filter[title]=delta's"), vec!["delta's"]);
    assert_eq!(
        titles(&server, "filter[title]=x'%20OR%20'1'='1"),
        Vec::<String>::new()
    );
    assert_eq!(
        titles(&server, "filter[title][is_null]=true"),
        Vec::<String>::new()
    );
    assert_eq!(titles(&server, "filter[title][is_null]=false").len(), 4);
}

#[test]
fn timestamps_compare_as_times() {
    let server = TestServer::start();
    let ids = seed(&server);
    let third = expect_document(&server.get(&format!("/api/conversations/{}", ids[2])), 200);
    let created = third["data"]["attributes"]["created_at"]
        .as_str()
        .unwrap()
        .to_string();
    let encoded = created.replace(':', "%3A");
    assert_eq!(
        titles(&server, &format!("filter[created_at][gte]={encoded}")),
        vec!["delta's", "gamma"]
    );
    assert_eq!(
        titles(&server, &format!("filter[created_at][lt]={encoded}")),
        vec!["alpha", "beta"]
    );
    assert_eq!(
        titles(&server, &format!("filter[created_at]={encoded}")),
        vec!["gamma"]
    );
    // Another offset naming the same instant matches the same rows.
    let same_instant = chrono::DateTime::parse_from_rfc3339(&created)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
        .replace(':', "%3A")
        .replace('+', "%2B");
    assert_eq!(
        titles(&server, &format!("filter[created_at]={same_instant}")),
        vec!["gamma"]
    );
}

#[test]
fn metadata_keys_and_identifiers() {
    let server = TestServer::start();
    let ids = seed(&server);
    assert_eq!(
        titles(&server, "filter[metadata.plan]=pro"),
        vec!["alpha", "gamma"]
    );
    assert_eq!(titles(&server, "filter[metadata.seats]=5"), vec!["alpha"]);
    assert_eq!(titles(&server, "filter[metadata.vip]=true"), vec!["alpha"]);
    assert_eq!(titles(&server, "filter[metadata.vip]=false"), vec!["beta"]);
    assert_eq!(
        titles(&server, "filter[metadata.plan][is_null]=true"),
        vec!["delta's"]
    );
    let public_id = expect_document(&server.get(&format!("/api/conversations/{}", ids[1])), 200)
        ["data"]["attributes"]["public_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        titles(&server, &format!("filter[public_id]={public_id}")),
        vec!["beta"]
    );
    let agent = server.create_agent(json!({}));
    let path = format!("/api/conversations/{}", ids[3]);
    let patch = json!({"data": {"type": "Conversation", "id": ids[3], "attributes": {"ai_agent_id": agent}}});
    expect_document(&server.patch(&path, &patch), 200);
    assert_eq!(
        titles(
            &server,
            &format!("filter[ai_agent_id]={}", agent.to_uppercase())
        ),
        vec!["delta's"]
    );
    assert_eq!(
        titles(
            &server,
            &format!("filter[organisation]={}", server.organisation)
        )
        .len(),
        4
    );
}

#[test]
fn items_by_conversation_and_by_a_related_attribute() {
    let server = TestServer::start();
    let ids = seed(&server);
    let contents = |query: &str| -> Vec<String> {
        let document = expect_document(
            &server.get(&format!("/api/conversation_items?{query}")),
            200,
        );
        attribute_of_each(&document, "content")
    };
    assert_eq!(
        contents(&format!("filter[conversation]={}", ids[1])),
        vec!["in beta"]
    );
    assert_eq!(
        contents("filter[conversation.status]=active"),
        vec!["in alpha"]
    );
    assert_eq!(
        contents("filter[conversation.channel]=email&filter[role]=user"),
        vec!["in beta"]
    );
    assert_eq!(
        contents("filter[conversation.status]=cancelled"),
        Vec::<String>::new()
    );
    assert_eq!(contents("filter[modality]=voice"), Vec::<String>::new());
    assert_eq!(
        contents("filter[position][gte]=1&sort=-conversation.created_at"),
        vec!["in beta", "in alpha"]
    );
}

#[test]
fn bad_filters_are_400_and_reported_together() {
    let server = TestServer::start();
    for query in [
        "filter[colour]=red",
        "filter[status]=gone",
        "filter[status][like]=a",
        "filter[created_at]=yesterday",
        "filter[created_at][contains]=2026",
        "filter[ai_agent_id]=not-a-uuid",
        "filter[conversation_items]=x",
        "filter[metadata]=x",
        "filter[metadata.a%22b]=x",
        "filter[title][is_null]=maybe",
        "filter[channel][is_null]=true",
        "filter[organisation.nope]=x",
    ] {
        let name = query.split('=').next().unwrap().replace("%22", "\"");
        expect_errors(
            &server.get(&format!("/api/conversations?{query}")),
            400,
            &[parameter(&name)],
        );
    }
    expect_errors(
        &server.get("/api/conversations?filter[status]=gone&filter[colour]=red&filter[mode]=text"),
        400,
        &[parameter("filter[status]"), parameter("filter[colour]")],
    );
}
