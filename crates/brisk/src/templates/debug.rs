//! The debug page of a template error: the template, the line, the cause, and the lines around
//! it — every piece escaped. Shown to browsers in debug mode only.

use std::fmt::Write as _;

use super::TemplateError;
use crate::error::{escape_html, html_document};

/// Lines shown before and after the failing one.
const AROUND: usize = 3;

/// The page.
pub(crate) fn page(error: &TemplateError) -> String {
    let mut body = String::from("<h1>500 Template error</h1>\n<ul>\n");
    let _ = writeln!(body, "<li>Template: <code>{}</code></li>", escape_html(error.template()));
    if let Some(line) = error.line() {
        let _ = writeln!(body, "<li>Line: <code>{line}</code></li>");
    }
    if error.template() != error.rendering() {
        let _ = writeln!(body, "<li>Rendering: <code>{}</code></li>", escape_html(error.rendering()));
    }
    let _ = writeln!(body, "<li>Cause: <code>{}</code></li>\n</ul>", escape_html(&error.cause()));
    if let (Some(source), Some(line)) = (error.source(), error.line()) {
        body.push_str("<pre>");
        let first = line.saturating_sub(AROUND).max(1);
        for (n, text) in
            source.lines().enumerate().map(|(i, t)| (i + 1, t)).skip(first - 1).take(2 * AROUND + 1)
        {
            let text = escape_html(text);
            if n == line {
                let _ = writeln!(body, "<span class=\"line\">{n:>4} | {text}</span>");
            } else {
                let _ = writeln!(body, "{n:>4} | {text}");
            }
        }
        body.push_str("</pre>\n");
    }
    body.push_str("<p class=\"muted\">Shown because templates are in debug mode (debug builds); in release, this is a plain 500 and the error is logged.</p>\n");
    html_document("500 Template error", &body)
}
