//! GET with the care every provider needs: one process-wide client, a cap on
//! the body, the paused test clock held still while a request is in flight,
//! and failures turned into one-line reasons that name the host but never the
//! token (nor the path or query, which may carry one).
//!
//! The client keeps no idle connections: checks run a few requests per
//! promotion, so pooling saves nothing, while a pooled connection belongs to
//! the runtime that opened it and would be dead in the next one (every test
//! has its own runtime).

use std::sync::LazyLock;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};

use crate::clock::held;

/// How long connecting may take; the check's own `timeout` bounds the rest.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a provider may be sent back at most (Trivy reports of large images
/// run to a few MiB).
pub(super) const MAX_BODY: usize = 32 * 1024 * 1024;

static CLIENT: LazyLock<Result<reqwest::Client, String>> = LazyLock::new(|| {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_max_idle_per_host(0)
        .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
});

/// An answer: status, headers and the whole body.
pub(super) struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// What to send besides the URL.
#[derive(Default)]
pub(super) struct Request<'a> {
    /// Sent as `Authorization: Bearer …`.
    pub token: Option<&'a str>,
    pub accept: Option<&'static str>,
    pub headers: &'a [(&'static str, &'static str)],
}

/// GETs the URL `url` names (a filled-in template), with `token` as a bearer
/// when configured. Returns the host (for reasons) and the answer; `what` names
/// the URL in the reason when it does not parse.
pub(super) async fn get_filled(
    url: &str,
    token: Option<&crate::config::Secret>,
    accept: &'static str,
    what: &str,
) -> Result<(String, Fetched), String> {
    let url = Url::parse(url).map_err(|_| format!("{what} is not valid"))?;
    let token = match token {
        Some(secret) => Some(secret.expose().map_err(|e| format!("no token: {e}"))?),
        None => None,
    };
    let request = Request {
        token,
        accept: Some(accept),
        ..Request::default()
    };
    let answer = get(&url, request).await?;
    Ok((host(&url), answer))
}

/// GETs `url`. The error is a reason for the checklist.
pub(super) async fn get(url: &Url, request: Request<'_>) -> Result<Fetched, String> {
    let client = CLIENT.as_ref().map_err(Clone::clone)?;
    let host = host(url);
    let mut builder = client.get(url.clone());
    if let Some(accept) = request.accept {
        builder = builder.header(ACCEPT, accept);
    }
    for (name, value) in request.headers {
        builder = builder.header(*name, *value);
    }
    if let Some(token) = request.token {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the token is not a valid HTTP header value".to_owned())?;
        value.set_sensitive(true);
        builder = builder.header(AUTHORIZATION, value);
    }
    let exchange = async {
        let mut response = builder.send().await.map_err(|e| failed(&host, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failed(&host, &e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!(
                    "{host} sent more than {} MiB",
                    MAX_BODY / (1024 * 1024)
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status,
            headers,
            body,
        })
    };
    let result = held(exchange).await;
    // Belt and braces: nothing a server or a library says may carry the token.
    result.map_err(|reason| redact(reason, request.token))
}

/// Why a request failed, without the URL reqwest would print.
fn failed(host: &str, e: &reqwest::Error) -> String {
    let why = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else if e.is_redirect() {
        "too many redirects"
    } else {
        "the request failed"
    };
    format!("{why} to {host}")
}

/// `host[:port]` of `url`: what reasons name.
pub(super) fn host(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => "the server".to_owned(),
    }
}

/// `text` with every occurrence of `token` replaced.
pub(super) fn redact(text: String, token: Option<&str>) -> String {
    match token {
        Some(t) if !t.is_empty() && text.contains(t) => text.replace(t, "[redacted]"),
        _ => text,
    }
}

/// A value fit for a URL: everything but RFC 3986's unreserved characters
/// percent-encoded, so a version cannot add a path segment or a parameter.
pub(super) fn url_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A value fit for a PromQL string literal (as the signal queries escape).
pub(super) fn promql_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A value inserted as is (labels shown in chat).
pub(super) fn raw(value: &str) -> String {
    value.to_owned()
}

/// Text from a server, fit for one line of a reason: at most `max` characters.
pub(super) fn snippet(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        line
    } else {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_values_cannot_add_segments_or_parameters() {
        assert_eq!(url_escape("1.3.0"), "1.3.0");
        assert_eq!(url_escape("../x?a=1&b"), "..%2Fx%3Fa%3D1%26b");
        assert_eq!(url_escape("é"), "%C3%A9");
    }

    #[test]
    fn tokens_are_redacted_and_snippets_are_one_short_line() {
        assert_eq!(
            redact("bad token abc123".into(), Some("abc123")),
            "bad token [redacted]"
        );
        assert_eq!(snippet("a\n b   c", 10), "a b c");
        assert_eq!(snippet("abcdef", 3), "abc…");
    }
}
