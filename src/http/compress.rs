//! Response compression, negotiated by `Accept-Encoding` (RFC 9110 §12.5.3): brotli, zstd or
//! gzip for bodies over [`MIN_BYTES`], through actix's streaming encoder. Smaller bodies, and
//! requests that accept none of these, are sent as they are (identity is always acceptable
//! here: a refusal would be a plain-text 406 that no JSON:API client expects).

use actix_http::encoding::Encoder;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, ContentEncoding, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;

/// Bodies up to this size gain too little from compression to pay for it.
pub const MIN_BYTES: u64 = 1024;

/// The coding to use for a request's responses: the acceptable one with the highest q-value,
/// ties going to brotli, then zstd, then gzip.
pub fn preferred(accept_encoding: Option<&str>) -> ContentEncoding {
    let Some(accept_encoding) = accept_encoding else {
        return ContentEncoding::Identity;
    };
    let mut best = (0.0f32, ContentEncoding::Identity);
    let offered = [
        ("br", ContentEncoding::Brotli),
        ("zstd", ContentEncoding::Zstd),
        ("gzip", ContentEncoding::Gzip),
    ];
    for (name, encoding) in offered {
        let quality = quality(accept_encoding, name);
        // Strictly greater: on equal q-values the earlier coding stays.
        if quality > best.0 {
            best = (quality, encoding);
        }
    }
    best.1
}

/// The q-value `accept_encoding` gives `coding`, by name or through `*`; 0 when absent.
fn quality(accept_encoding: &str, coding: &str) -> f32 {
    let mut wildcard = None;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .filter_map(|parameter| {
                let (key, value) = parameter.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| value.trim().parse::<f32>().ok())
                    .flatten()
            })
            .next()
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        if name.eq_ignore_ascii_case(coding) {
            return q;
        }
        if name == "*" {
            wildcard = Some(q);
        }
    }
    wildcard.unwrap_or(0.0)
}

pub async fn compression(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let encoding = preferred(
        request
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|value| value.to_str().ok()),
    );
    let response = next.call(request).await?;
    Ok(response.map_body(|head, body| {
        let large = matches!(body.size(), BodySize::Sized(size) if size > MIN_BYTES);
        if !large {
            return Encoder::response(ContentEncoding::Identity, head, body);
        }
        // A large body's representation depends on Accept-Encoding, whatever this request sent.
        let vary = match head
            .headers()
            .get(header::VARY)
            .and_then(|v| v.to_str().ok())
        {
            Some(existing) => format!("{existing}, Accept-Encoding"),
            None => "Accept-Encoding".to_string(),
        };
        let encoder = Encoder::response(encoding, head, body);
        // One Vary header, replacing the entry the encoder appends.
        if let Ok(vary) = HeaderValue::from_str(&vary) {
            head.headers_mut().insert(header::VARY, vary);
        }
        encoder
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_by_quality_then_preference() {
        assert_eq!(preferred(None), ContentEncoding::Identity);
        assert_eq!(preferred(Some("gzip")), ContentEncoding::Gzip);
        assert_eq!(
            preferred(Some("gzip, deflate, br")),
            ContentEncoding::Brotli
        );
        assert_eq!(preferred(Some("gzip;q=1, br;q=0.5")), ContentEncoding::Gzip);
        assert_eq!(preferred(Some("zstd, gzip")), ContentEncoding::Zstd);
        assert_eq!(preferred(Some("*")), ContentEncoding::Brotli);
        assert_eq!(preferred(Some("*, br;q=0")), ContentEncoding::Zstd);
        assert_eq!(preferred(Some("identity")), ContentEncoding::Identity);
        assert_eq!(preferred(Some("gzip;q=0")), ContentEncoding::Identity);
        assert_eq!(preferred(Some("deflate")), ContentEncoding::Identity);
    }
}
