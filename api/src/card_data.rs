//! Card numbers in the request line. Bodies are screened where they are parsed
//! (`routes::json_body`, and item by item for event batches); the path and the query are
//! screened here, before any route sees them, so an id in a path can never carry a card
//! number into storage. Path segments and query values are identifiers with declared
//! formats, judged by the identifier rule ([`PanRule::Identifier`]). The answer names the
//! place (`path` or `query.<name>`), never the value.

use axum::extract::Request;
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use sextant_domain::{find_pan_in_value, PanRule};

use crate::error::{AppError, ItemProblem};

/// Refuses a request whose path or query holds a card number (422 `full_card_number`).
pub async fn screen_request_line(request: Request, next: Next) -> Response {
    match card_in(request.uri()) {
        Some(field) => AppError::Validation(vec![ItemProblem::field(
            &field,
            "full_card_number",
            "a full card number is never accepted, in a path or a query either",
        )])
        .into_response(),
        None => next.run(request).await,
    }
}

/// Where the URI holds a card number: `path`, or `query.<name>`.
fn card_in(uri: &Uri) -> Option<String> {
    let holds = |text: &str| find_pan_in_value(text, PanRule::Identifier).is_some();
    if uri
        .path()
        .split('/')
        .any(|segment| holds(&percent_decode_str(segment).decode_utf8_lossy()))
    {
        return Some("path".into());
    }
    let query = uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, value)| holds(name) || holds(value))
        .map(|(name, _)| {
            if holds(&name) {
                "query".to_owned()
            } else {
                format!("query.{name}")
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_in_paths_and_queries_are_found() {
        let found = |uri: &str| card_in(&uri.parse().unwrap());
        assert_eq!(found("/v1/customers/4111111111111111"), Some("path".into()));
        assert_eq!(
            found("/v1/customers/4111%201111%201111%201111"),
            Some("path".into())
        );
        assert_eq!(
            found("/v1/customers/c1/payments?cursor=x&q=4111-1111-1111-1111"),
            Some("query.q".into())
        );
        assert_eq!(found("/v1/customers/c0000001/payments?limit=10"), None);
        assert_eq!(found("/v1/events/evt-1733480000009-42"), None);
    }
}
