//! `page[…]`: offset pages and the cursor pagination profile's pages.

use std::collections::BTreeMap;

use super::{Page, SortKey, DEFAULT_PAGE_SIZE, MAX_OFFSET, MAX_PAGE_SIZE};
use crate::jsonapi::error::{ApiError, CursorError};

/// `page[…]` members, checked together: the two styles do not mix.
pub(super) fn parse_page(
    page: &BTreeMap<String, String>,
    sort: &[SortKey],
) -> Result<(Page, bool), ApiError> {
    let mut problems = Vec::new();
    let parameter = |member: &str| format!("page[{member}]");
    let number = |member: &str, problems: &mut Vec<ApiError>| -> Option<i64> {
        let text = page.get(member)?;
        match text.parse::<i64>() {
            Ok(number) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                Some(number)
            }
            _ => {
                problems.push(ApiError::invalid_query(
                    parameter(member),
                    format!(
                        "`{}` takes a whole number; not `{text}`.",
                        parameter(member)
                    ),
                ));
                None
            }
        }
    };
    for member in page.keys() {
        if !matches!(
            member.as_str(),
            "offset" | "limit" | "size" | "after" | "before" | "count"
        ) {
            problems.push(ApiError::invalid_query(
                parameter(member),
                format!("`{}` is not a page parameter; use offset and limit, or size, after and before.", parameter(member)),
            ));
        }
    }
    let count = match page.get("count").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            problems.push(ApiError::invalid_query(
                "page[count]",
                format!("`page[count]` is true or false; not `{other}`."),
            ));
            false
        }
    };
    let offset_style = page.contains_key("offset") || page.contains_key("limit");
    let cursor_members: Vec<&str> = ["size", "after", "before"]
        .into_iter()
        .filter(|member| page.contains_key(*member))
        .collect();
    if offset_style && !cursor_members.is_empty() {
        for member in &cursor_members {
            problems.push(ApiError::invalid_query(
                parameter(member),
                format!(
                    "`{}` is cursor pagination and cannot be mixed with page[offset]/page[limit].",
                    parameter(member)
                ),
            ));
        }
    }
    let style = if cursor_members.is_empty() {
        let offset = number("offset", &mut problems).unwrap_or(0);
        if offset > MAX_OFFSET {
            problems.push(ApiError::invalid_query(
                "page[offset]",
                format!("`page[offset]` is at most {MAX_OFFSET}; use cursor pages to go deeper."),
            ));
        }
        let limit = number("limit", &mut problems).unwrap_or(DEFAULT_PAGE_SIZE);
        if limit == 0 || limit > MAX_PAGE_SIZE {
            problems.push(ApiError::invalid_query(
                "page[limit]",
                format!("`page[limit]` is from 1 to {MAX_PAGE_SIZE}; not {limit}."),
            ));
        }
        Page::Offset { offset, limit }
    } else {
        let size = number("size", &mut problems).unwrap_or(DEFAULT_PAGE_SIZE);
        if size == 0 {
            problems.push(ApiError::invalid_query(
                "page[size]",
                "`page[size]` must be a positive integer.",
            ));
        } else if size > MAX_PAGE_SIZE {
            problems.push(ApiError::CursorPagination {
                error: CursorError::MaxSizeExceeded { max: MAX_PAGE_SIZE },
                parameter: "page[size]".into(),
                detail: format!("You asked for {size} per page; {MAX_PAGE_SIZE} is the most."),
            });
        }
        let (after, before) = (page.get("after").cloned(), page.get("before").cloned());
        if after.is_some() && before.is_some() {
            problems.push(ApiError::CursorPagination {
                error: CursorError::RangeNotSupported,
                parameter: "page[before]".into(),
                detail: "Range pagination (page[after] with page[before]) is not supported; send one of them.".into(),
            });
        }
        // Keyset pagination needs every sort key in the row itself.
        if let Some(key) = sort.iter().find(|key| key.field.via.is_some()) {
            problems.push(ApiError::CursorPagination {
                error: CursorError::UnsupportedSort,
                parameter: "sort".into(),
                detail: format!(
                    "Cursor pagination cannot follow a sort on a related attribute (`{}.{}`); use offset pagination or sort on the resource's own attributes.",
                    key.field.via.map(|(relationship, _)| relationship.name).unwrap_or_default(),
                    key.field.attribute.name
                ),
            });
        }
        Page::Cursor {
            size,
            after,
            before,
        }
    };
    match ApiError::from_problems(problems) {
        Some(error) => Err(error),
        None => Ok((style, count)),
    }
}
