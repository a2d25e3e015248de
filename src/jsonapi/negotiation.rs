//! Content negotiation (spec: content negotiation, server responsibilities), as pure functions of
//! header values so the rules can be read and tested apart from the HTTP framework.

use super::document::MEDIA_TYPE;

/// Extensions this server applies. None yet: any `ext` a client asks for is unsupported.
pub const SUPPORTED_EXTENSIONS: &[&str] = &[];

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

    fn unsupported_extension(&self) -> Option<&str> {
        self.parameter("ext")?
            .split(' ')
            .filter(|uri| !uri.is_empty())
            .find(|uri| !SUPPORTED_EXTENSIONS.contains(uri))
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

/// Why a request's `Content-Type` is refused (415), if it is.
/// `requires_body` is true for requests that must carry a JSON:API document.
pub fn check_content_type(header: Option<&str>, requires_body: bool) -> Result<(), String> {
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
    Ok(())
}

/// Why a request's `Accept` is refused (406), if it is: when it names the JSON:API media type
/// and every instance is modified by a foreign parameter or asks for an unsupported extension.
/// Accept headers that do not name JSON:API (`*/*`, none at all) are answered as usual.
pub fn check_accept<'a>(headers: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
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
        assert!(check_content_type(Some(MEDIA_TYPE), true).is_ok());
        assert!(check_content_type(
            Some("application/vnd.api+json; profile=\"https://x/p\""),
            true
        )
        .is_ok());
        assert!(check_content_type(Some("application/vnd.api+json; charset=utf-8"), true).is_err());
        assert!(
            check_content_type(Some("application/vnd.api+json; ext=\"https://x/e\""), true)
                .is_err()
        );
        assert!(check_content_type(Some("application/json"), true).is_err());
        assert!(check_content_type(Some("application/json"), false).is_ok());
        assert!(check_content_type(None, true).is_err());
        assert!(check_content_type(None, false).is_ok());
    }

    #[test]
    fn accept_rules() {
        assert!(check_accept([MEDIA_TYPE]).is_ok());
        assert!(check_accept(["*/*"]).is_ok());
        assert!(check_accept(Vec::<&str>::new()).is_ok());
        assert!(check_accept(["application/vnd.api+json; charset=utf-8"]).is_err());
        assert!(check_accept([
            "application/vnd.api+json; charset=utf-8, application/vnd.api+json"
        ])
        .is_ok());
        assert!(check_accept(["application/vnd.api+json; ext=\"https://x/e\""]).is_err());
        assert!(check_accept(["application/vnd.api+json; profile=\"https://x/p\""]).is_ok());
        assert!(check_accept(["application/vnd.api+json;q=0.5"]).is_ok());
        assert!(check_accept(["application/vnd.api+json;q=0"]).is_ok());
    }
}
