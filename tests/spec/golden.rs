//! Documents byte for byte: on deterministic data (`confab seed`), each of these requests must
//! answer exactly the bytes recorded in `tests/golden/NN.json`, so no change to loading or
//! rendering alters a document unnoticed (member order, escaping, timestamps, links, included
//! order). `{C}`, `{I}` and `{O}` stand for a seeded conversation, item and organisation.
//!
//! After an intended change to documents, rewrite the files with
//! `CONFAB_GOLDEN_WRITE=1 cargo test golden` and review the diff.

use crate::support::{TestServer, MEDIA_TYPE};

const REQUESTS: &[(u16, &str)] = &[
    (200, "/api/conversations"),
    (200, "/api/conversations/{C}"),
    (200, "/api/conversations/{C}?include=conversation_items,organisation"),
    (200, "/api/conversations?include=conversation_items.organisation"),
    (200, "/api/conversations?include=conversation_items&fields%5BConversation%5D=status,conversation_items&fields%5BConversationItem%5D=content,position"),
    (200, "/api/conversations?page%5Bsize%5D=5"),
    (200, "/api/conversations?page%5Bsize%5D=5&sort=status,-created_at"),
    (200, "/api/conversations?page%5Blimit%5D=5&page%5Boffset%5D=5&page%5Bcount%5D=true"),
    (200, "/api/conversations?filter%5Bstatus%5D=pending&filter%5Bchannel%5D=telephone&sort=-created_at"),
    (200, "/api/conversations?filter%5Bmetadata.plan%5D=pro&sort=created_at"),
    (200, "/api/conversations?sort=organisation.name,created_at"),
    (200, "/api/conversations?filter%5Btitle%5D%5Bcontains%5D=conversation%201"),
    (200, "/api/conversation_items?filter%5Bconversation.status%5D=active&page%5Blimit%5D=7"),
    (200, "/api/conversation_items/{I}?include=conversation.organisation"),
    (200, "/api/conversations/{C}/conversation_items"),
    (200, "/api/conversations/{C}/organisation"),
    (200, "/api/conversations/{C}/relationships/conversation_items"),
    (200, "/api/conversations/{C}/relationships/organisation"),
    (200, "/api/organisations"),
    (200, "/api/organisations/{O}?include=conversations"),
    (200, "/api/conversations?filter%5Bcreated_at%5D%5Bgte%5D=2025-01-01T00:00:10Z&page%5Bsize%5D=3&sort=-created_at"),
    (404, "/api/conversations/nope"),
    (400, "/api/conversations?sort=bogus"),
    (200, "/api/conversation_items?filter%5Bposition%5D%5Bgt%5D=2&page%5Bsize%5D=4&sort=-position"),
];

#[test]
fn documents_are_the_recorded_bytes() {
    let server = TestServer::start();
    let plan = confab::operators::SeedPlan {
        organisations: 2,
        conversations: 30,
        items_per_conversation: 4,
    };
    confab::operators::seed(&mut server.connection(), &plan, |_| {}).expect("seed");
    let organisation = confab::operators::find_organisation(&mut server.connection(), "seed-1")
        .expect("seeded organisation");
    let key = server.add_key(&organisation, confab::auth::SCOPES, None);
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let write = std::env::var_os("CONFAB_GOLDEN_WRITE").is_some();
    for (index, (status, path)) in REQUESTS.iter().enumerate() {
        let path = path
            .replace("{C}", "00000002-0000-4000-8000-000000000004")
            .replace("{I}", "00000003-0000-4000-8000-000000000011")
            .replace("{O}", "00000001-0000-4000-8000-000000000000");
        let response = server.request_as(Some(&key), "GET", &path, None);
        assert_eq!(response.status, *status, "{path}: {}", response.text());
        assert_eq!(
            response
                .header("content-type")
                .map(|value| value.split(';').next().unwrap_or_default()),
            Some(MEDIA_TYPE),
            "{path}"
        );
        let file = directory.join(format!("{:02}.json", index + 1));
        if write {
            std::fs::write(&file, &response.body).expect("write golden file");
            continue;
        }
        let expected = std::fs::read(&file).expect("golden file");
        assert!(
            response.body == expected,
            "{path} differs from {}:\n got: {}\nwant: {}",
            file.display(),
            response.text(),
            String::from_utf8_lossy(&expected)
        );
    }
}
