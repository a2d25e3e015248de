//! What each channel needs (seeds 003, 004): a telephone call a number to dial, an email an
//! address to write to; the email members belong to email alone.

use serde_json::Value;

use super::Conversation;
use crate::jsonapi::error::ApiError;

pub const TELEPHONE: &str = "telephone";
pub const EMAIL: &str = "email";

/// Members only an email conversation takes.
const EMAIL_ONLY: &[&str] = &["to_address", "from_address", "subject"];

/// Every way the conversation breaks its channel's rules, each at its member.
pub fn check(conversation: &Conversation) -> Vec<ApiError> {
    let mut problems = Vec::new();
    match conversation.channel.as_str() {
        TELEPHONE => {
            let phone = serde_json::from_str::<Value>(&conversation.participant.0)
                .ok()
                .and_then(|participant| participant.get("phone").cloned());
            if !matches!(phone, Some(Value::String(_))) {
                problems.push(ApiError::invalid_member(
                    "/data/attributes/participant",
                    "A telephone conversation needs `participant.phone`: the number to call, in E.164 form (+14155550100).",
                ));
            }
        }
        EMAIL if conversation.to_address.is_none() => {
            problems.push(ApiError::invalid_member(
                "/data/attributes",
                "An email conversation needs `to_address`: the address it writes to.",
            ));
        }
        _ => {}
    }
    if conversation.channel != EMAIL {
        let given = [
            &conversation.to_address,
            &conversation.from_address,
            &conversation.subject,
        ];
        for (name, value) in EMAIL_ONLY.iter().zip(given) {
            if value.is_some() {
                problems.push(ApiError::invalid_member(
                    format!("/data/attributes/{name}"),
                    format!(
                        "`{name}` belongs to email conversations; this one's channel is `{}`.",
                        conversation.channel
                    ),
                ));
            }
        }
    }
    problems
}
