//! The page frame (header, navigation by role, sign-out), and the small pieces every page
//! uses: money and percentages, server-side paging and sorting links.

use maud::{html, Markup, DOCTYPE};

use super::session::{csrf_field, Staff};
use crate::auth::Role;

pub type Page = Markup;

/// The sections of the console and the roles that may open them.
pub const SECTIONS: &[(&str, &str, &[Role])] = &[
    ("campaigns", "Campaigns", &[Role::Marketer, Role::Admin]),
    ("audiences", "Audiences", &[Role::Marketer, Role::Admin]),
    ("catalogue", "Catalogue", &[Role::Marketer, Role::Admin]),
    (
        "segments",
        "Segments",
        &[Role::Marketer, Role::Compliance, Role::Admin],
    ),
    ("clients", "Clients", &[Role::WealthManager, Role::Admin]),
    (
        "cases",
        "Monitoring cases",
        &[Role::Compliance, Role::Admin],
    ),
    (
        "rules",
        "Monitoring rules",
        &[Role::Compliance, Role::Admin],
    ),
    (
        "decisions",
        "Credit decisions",
        &[Role::Compliance, Role::Admin],
    ),
    ("fairness", "Fairness", &[Role::Compliance, Role::Admin]),
    ("models", "Models", &[Role::Compliance, Role::Admin]),
    ("audit", "Audit trail", &[Role::Compliance, Role::Admin]),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Sextant console" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// A page for a signed-in member of staff; `section` marks the navigation entry.
pub fn page(staff: &Staff, section: &str, title: &str, body: Markup) -> Page {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/console" { "Sextant" }
                    nav aria-label="Sections" {
                        ul {
                            @for (path, label, roles) in SECTIONS {
                                @if roles.contains(&staff.role) {
                                    li {
                                        @if *path == section {
                                            a href={ "/console/" (path) } aria-current="page" { (label) }
                                        } @else {
                                            a href={ "/console/" (path) } { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    div class="who" {
                        span { (staff.username) " · " (role_label(staff.role)) }
                        form method="post" action="/console/logout" {
                            (csrf_field(staff))
                            button type="submit" class="link" { "Sign out" }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page outside a session (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Page {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { (body) }
        }
    }
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Marketer => "marketer",
        Role::WealthManager => "wealth manager",
        Role::Compliance => "compliance",
        Role::Admin => "administrator",
        Role::Customer => "customer",
        Role::Service => "service",
    }
}

/// Minor units as money: `12,345.67 EUR` (two decimals unless the currency has none).
pub fn money(minor: i64, currency: &str) -> String {
    let digits = sextant_domain::Currency::parse(currency).map_or(2, |c| c.minor_digits());
    let negative = minor < 0;
    let abs = minor.unsigned_abs();
    let scale = 10u64.pow(u32::from(digits));
    let whole = grouped(abs / scale);
    let sign = if negative { "-" } else { "" };
    if digits == 0 {
        format!("{sign}{whole} {currency}")
    } else {
        format!(
            "{sign}{whole}.{:0width$} {currency}",
            abs % scale,
            width = usize::from(digits)
        )
    }
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage with `decimals` places.
pub fn pct(share: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals, share * 100.0)
}

/// Paging and sorting of a server-side table.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub page: u64,
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub dir: Option<String>,
}

/// Rows per page of every console table.
pub const PAGE_ROWS: u64 = 50;

impl Paging {
    pub fn offset(&self) -> u64 {
        self.page.min(1_000_000) * PAGE_ROWS
    }

    pub fn descending(&self) -> bool {
        self.dir.as_deref() != Some("asc")
    }

    /// The sort column if it is one of `allowed`, else the first.
    pub fn sort_of<'a>(&self, allowed: &[&'a str]) -> &'a str {
        self.sort
            .as_deref()
            .and_then(|s| allowed.iter().find(|a| **a == s))
            .copied()
            .unwrap_or(allowed[0])
    }
}

/// A column header that sorts the table on the server; `query` is the rest of the query
/// string (filters), already encoded.
pub fn sort_header(
    label: &str,
    column: &str,
    paging: &Paging,
    current: &str,
    query: &str,
) -> Markup {
    let active = current == column;
    let next_dir = if active && paging.descending() {
        "asc"
    } else {
        "desc"
    };
    let aria = match (active, paging.descending()) {
        (false, _) => "none",
        (true, true) => "descending",
        (true, false) => "ascending",
    };
    let arrow = match aria {
        "descending" => " ▼",
        "ascending" => " ▲",
        _ => "",
    };
    html! {
        th scope="col" aria-sort=(aria) {
            a href={ "?sort=" (column) "&dir=" (next_dir) (query) } { (label) (arrow) }
        }
    }
}

/// Previous / next links and where the page stands in `total` rows.
pub fn pager(paging: &Paging, total: u64, query: &str) -> Markup {
    let first = paging.offset() + 1;
    let last = (paging.offset() + PAGE_ROWS).min(total);
    let sort = paging
        .sort
        .as_deref()
        .map(|s| format!("&sort={s}&dir={}", paging.dir.as_deref().unwrap_or("desc")))
        .unwrap_or_default();
    html! {
        nav class="pager" aria-label="Pages" {
            @if total == 0 {
                span { "No rows." }
            } @else {
                span { "Rows " (grouped(first)) "–" (grouped(last)) " of " (grouped(total)) }
            }
            @if paging.page > 0 {
                a href={ "?page=" (paging.page - 1) (sort) (query) } rel="prev" { "Previous" }
            }
            @if last < total {
                a href={ "?page=" (paging.page + 1) (sort) (query) } rel="next" { "Next" }
            }
        }
    }
}

/// `&key=value` pairs for the filters carried by paging links.
pub fn carry(pairs: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push('&');
            out.push_str(key);
            out.push('=');
            out.extend(form_urlencoded::byte_serialize(v.as_bytes()));
        }
    }
    out
}

/// A label/value list.
pub fn facts(rows: &[(&str, String)]) -> Markup {
    html! {
        dl class="facts" {
            @for (k, v) in rows { dt { (k) } dd { (v) } }
        }
    }
}

/// A notice for an empty or not-yet-ready part of a page.
pub fn notice(text: &str) -> Markup {
    html! { p class="notice" { (text) } }
}
