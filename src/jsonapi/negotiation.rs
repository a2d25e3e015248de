//! Content negotiation (spec: content negotiation, server responsibilities), as pure functions of
//! header values so the rules can be read and tested apart from the HTTP framework.

use super::atomic;
use super::document::MEDIA_TYPE;

/// Extensions this server applies: Atomic Operations, at [`atomic::PATH`] only.
pub const SUPPORTED_EXTENSIONS: &[&str] = &[atomic::EXTENSION];

/// A media type with its parameters, lowercased names, unquoted values.
#[derive(Debug, PartialEq, Eq)]
pub struct MediaType {
    pub essence: String,
    pub parameters: Vec<(String, String)>,
}

impl MediaType {
    pub fn parse(text: &str) -> Option<Self> {
        let mut pieces = split_outside_quotes(text, ';').into_iter();
        let essence = pieces.next()?.trim().to_ascii_lowercase();
        if essence.is_empty() || !essence.contains('/') {
            return None;
        }
        let mut parameters = Vec::new();
        for piece in pieces {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            let (name, value) = piece.split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            parameters.push((name.trim().to_ascii_lowercase(), value.to_string()));
        }
        Some(MediaType {
            essence,
            parameters,
        })
    }

    pub fn is_jsonapi(&self) -> bool {
        self.essence == MEDIA_TYPE
    }

    fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn has_foreign_parameter(&self) -> bool {
        self.parameters
            .iter()
            .any(|(name, _)| name != "ext" && name != "profile")
    }

    fn extensions(&self) -> impl Iterator<Item = &str> {
        self.parameter("ext")
            .unwrap_or_default()
            .split(' ')
            .filter(|uri| !uri.is_empty())
    }

    fn unsupported_extension(&self) -> Option<&str> {
        self.extensions()
            .find(|uri| !SUPPORTED_EXTENSIONS.contains(uri))
    }

    fn applies_atomic(&self) -> bool {
        self.extensions().any(|uri| uri == atomic::EXTENSION)
    }
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                pieces.push(&text[start..index]);
                start = index + c.len_utf8();
            }
            _ => {}
        }
    }
    pieces.push(&text[start..]);
    pieces
}

/// The media type an operations request is sent with, and its answer comes in.
fn atomic_media_type() -> String {
    format!("{MEDIA_TYPE}; ext=\"{}\"", atomic::EXTENSION)
}

/// Why a request's `Content-Type` is refused (415), if it is.
/// `requires_body` is true for requests that must carry a JSON:API document; `operations` for
/// requests to the Atomic Operations endpoint, the one place that extension applies.
pub fn check_content_type(
    header: Option<&str>,
    requires_body: bool,
    operations: bool,
) -> Result<(), String> {
    let Some(header) = header else {
        return if requires_body {
            Err(format!(
                "Send the document with `Content-Type: {MEDIA_TYPE}`."
            ))
        } else {
            Ok(())
        };
    };
    let Some(media_type) = MediaType::parse(header) else {
        return Err(format!("`{header}` is not a media type."));
    };
    if !media_type.is_jsonapi() {
        return if requires_body {
            Err(format!(
                "`{}` is not the JSON:API media type `{MEDIA_TYPE}`.",
                media_type.essence
            ))
        } else {
            Ok(())
        };
    }
    // response-unsupported-media-type: parameters other than ext/profile.
    if let Some((name, _)) = media_type
        .parameters
        .iter()
        .find(|(name, _)| name != "ext" && name != "profile")
    {
        return Err(format!(
            "The JSON:API media type takes no `{name}` parameter; only `ext` and `profile`."
        ));
    }
    if let Some(uri) = media_type.unsupported_extension() {
        return Err(format!("The extension `{uri}` is not supported."));
    }
    if operations && requires_body && !media_type.applies_atomic() {
        return Err(format!("Operations are sent as `{}`.", atomic_media_type()));
    }
    if !operations && media_type.applies_atomic() {
        return Err(format!(
            "The Atomic Operations extension applies only to POST {}.",
            atomic::PATH
        ));
    }
    Ok(())
}

/// Why a request's `Accept` is refused (406), if it is: when it names the JSON:API media type
/// and every instance is modified by a foreign parameter or asks for an unsupported extension.
/// Accept headers that do not name JSON:API (`*/*`, none at all) are answered as usual.
/// At the operations endpoint every answer applies the Atomic Operations extension, so an
/// instance must name it there.
pub fn check_accept<'a>(
    headers: impl IntoIterator<Item = &'a str>,
    operations: bool,
) -> Result<(), String> {
    let mut instances = 0;
    let mut refusals = Vec::new();
    for header in headers {
        for range in split_outside_quotes(header, ',') {
            let Some(mut media_type) = MediaType::parse(range) else {
                continue;
            };
            if !media_type.is_jsonapi() {
                continue;
            }
            // The weight and anything after it are Accept parameters, not media type ones.
            if let Some(q) = media_type
                .parameters
                .iter()
                .position(|(name, _)| name == "q")
            {
                if media_type.parameters[q].1.trim().parse::<f32>().ok() == Some(0.0) {
                    continue;
                }
                media_type.parameters.truncate(q);
            }
            instances += 1;
            if media_type.has_foreign_parameter() {
                refusals.push("it carries parameters other than `ext` and `profile`".to_string());
            } else if let Some(uri) = media_type.unsupported_extension() {
                refusals.push(format!("the extension `{uri}` is not supported"));
            } else if operations && !media_type.applies_atomic() {
                refusals.push(format!(
                    "answers here apply the Atomic Operations extension: accept `{}`",
                    atomic_media_type()
                ));
            } else {
                return Ok(());
            }
        }
    }
    if instances == 0 {
        return Ok(());
    }
    Err(format!(
        "No acceptable instance of `{MEDIA_TYPE}` in Accept: {}.",
        refusals.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_rules() {
        assert!(check_content_type(Some(MEDIA_TYPE), true, false).is_ok());
        assert!(check_content_type(
            Some("application/vnd.api+json; profile=\"https://x/p\""),
            true,
            false
        )
        .is_ok());
        assert!(
            check_content_type(Some("application/vnd.api+json; charset=utf-8"), true, false)
                .is_err()
        );
        assert!(check_content_type(
            Some("application/vnd.api+json; ext=\"https://x/e\""),
            true,
            false
        )
        .is_err());
        assert!(check_content_type(Some("application/json"), true, false).is_err());
        assert!(check_content_type(Some("application/json"), false, false).is_ok());
        assert!(check_content_type(None, true, false).is_err());
        assert!(check_content_type(None, false, false).is_ok());
        // The Atomic Operations extension: required at its endpoint, refused elsewhere.
        let atomic = format!("{MEDIA_TYPE}; ext=\"{}\"", atomic::EXTENSION);
        assert!(check_content_type(Some(&atomic), true, true).is_ok());
        assert!(check_content_type(Some(MEDIA_TYPE), true, true).is_err());
        assert!(check_content_type(Some(&atomic), true, false).is_err());
    }

    #[test]
    fn accept_rules() {
        assert!(check_accept([MEDIA_TYPE], false).is_ok());
        assert!(check_accept(["*/*"], false).is_ok());
        assert!(check_accept(Vec::<&str>::new(), false).is_ok());
        assert!(check_accept(["application/vnd.api+json; charset=utf-8"], false).is_err());
        assert!(check_accept(
            ["application/vnd.api+json; charset=utf-8, application/vnd.api+json"],
            false
        )
        .is_ok());
        assert!(check_accept(["application/vnd.api+json; ext=\"https://x/e\""], false).is_err());
        assert!(check_accept(["application/vnd.api+json; profile=\"https://x/p\""], false).is_ok());
        assert!(check_accept(["application/vnd.api+json;q=0.5"], false).is_ok());
        assert!(check_accept(["application/vnd.api+json;q=0"], false).is_ok());
        let atomic = format!("{MEDIA_TYPE}; ext=\"{}\"", atomic::EXTENSION);
        assert!(check_accept([atomic.as_str()], true).is_ok());
        assert!(check_accept(["*/*"], true).is_ok());
        assert!(check_accept([MEDIA_TYPE], true).is_err());
    }
}
