//! Local HTTP stand-ins for the outside services the checklist providers ask:
//! a GitHub stand-in serving the check-runs API in GitHub's documented format
//! (`GET /repos/{owner}/{repo}/commits/{ref}/check-runs`: `total_count`,
//! `check_runs[]` with `name`, `status`, `conclusion`; bearer-token auth;
//! `per_page`/`page` and a `Link` header), and a file stand-in serving fixed
//! answers by path (a Trivy JSON report, a smoke-test endpoint). Each listens
//! on its own loopback port 0 and records what it was asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// Serves `router` on a free loopback port; returns `http://127.0.0.1:PORT`.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

/// A loopback URL nothing listens on (the port was free a moment ago).
pub fn unreachable_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// One check run as GitHub lists it.
pub fn run(id: u64, name: &str, status: &str, conclusion: Option<&str>) -> Value {
    json!({
        "id": id,
        "name": name,
        "head_sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "status": status,
        "conclusion": conclusion,
        "started_at": "2026-01-01T00:00:00Z",
        "completed_at": if status == "completed" { json!("2026-01-01T00:05:00Z") } else { Value::Null },
        "app": {"slug": "github-actions"},
    })
}

/// `passed` successful runs (`test-1`, `test-2`, ...) and a failed run per name in `failed`.
pub fn runs(passed: usize, failed: &[&str]) -> Vec<Value> {
    let mut all: Vec<Value> = (1..=passed)
        .map(|i| {
            run(
                i as u64,
                &format!("test-{i:03}"),
                "completed",
                Some("success"),
            )
        })
        .collect();
    for (i, name) in failed.iter().enumerate() {
        all.push(run(
            (passed + i + 1) as u64,
            name,
            "completed",
            Some("failure"),
        ));
    }
    all
}

/// What the GitHub stand-in serves and what it saw.
#[derive(Default)]
pub struct GithubState {
    /// `owner/repo@ref` -> the runs of that commit.
    pub commits: HashMap<String, Vec<Value>>,
    /// The token it accepts.
    pub token: String,
    /// Runs per page at most, whatever `per_page` asks (forces pagination).
    pub page_size: usize,
    /// Whether pages carry a `Link: <…>; rel="next"` header.
    pub link_header: bool,
    /// Every request: path and query.
    pub requests: Vec<String>,
    /// Every request's `Accept` and `X-GitHub-Api-Version` headers.
    pub headers: Vec<(String, String)>,
}

/// The GitHub stand-in: its API base URL and state.
pub struct GithubStandIn {
    pub api_base: String,
    pub state: Arc<Mutex<GithubState>>,
}

impl GithubStandIn {
    /// Sets the runs of `repo` at `git_ref`.
    pub fn set_runs(&self, repo: &str, git_ref: &str, runs: Vec<Value>) {
        self.state
            .lock()
            .unwrap()
            .commits
            .insert(format!("{repo}@{git_ref}"), runs);
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

/// A GitHub stand-in accepting `token`, with pages of at most `page_size` runs.
pub async fn github(token: &str, page_size: usize, link_header: bool) -> GithubStandIn {
    let state = Arc::new(Mutex::new(GithubState {
        token: token.to_owned(),
        page_size,
        link_header,
        ..GithubState::default()
    }));
    let router = Router::new()
        .route(
            "/repos/{owner}/{repo}/commits/{git_ref}/check-runs",
            get(check_runs),
        )
        .with_state(state.clone());
    GithubStandIn {
        api_base: serve(router).await,
        state,
    }
}

async fn check_runs(
    State(state): State<Arc<Mutex<GithubState>>>,
    Path((owner, repo, git_ref)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let mut s = state.lock().unwrap();
    s.requests.push(uri.to_string());
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    s.headers
        .push((header("accept"), header("x-github-api-version")));
    if header("authorization") != format!("Bearer {}", s.token) {
        let body = json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401"
        });
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let Some(all) = s.commits.get(&format!("{owner}/{repo}@{git_ref}")).cloned() else {
        let body = json!({
            "message": format!("No commit found for SHA: {git_ref}"),
            "documentation_url": "https://docs.github.com/rest/checks/runs",
            "status": "422"
        });
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
    };
    let per_page = query
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .min(s.page_size)
        .max(1);
    let page = query
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let slice: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    let body = json!({"total_count": all.len(), "check_runs": slice});
    let mut response = axum::Json(body).into_response();
    if s.link_header && page * per_page < all.len() {
        let host = header("host");
        let next = format!(
            "<http://{host}/repos/{owner}/{repo}/commits/{git_ref}/check-runs?per_page={per_page}&page={}>; rel=\"next\"",
            page + 1
        );
        response.headers_mut().insert("link", next.parse().unwrap());
    }
    response
}

/// What the file stand-in serves and what it saw.
#[derive(Default)]
pub struct FilesState {
    /// Path -> status and body.
    pub files: HashMap<String, (u16, String)>,
    /// Every request's path and `Authorization` header.
    pub requests: Vec<(String, Option<String>)>,
}

/// A stand-in serving fixed answers by path (404 for anything else).
pub struct FilesStandIn {
    pub url: String,
    pub state: Arc<Mutex<FilesState>>,
}

impl FilesStandIn {
    pub fn set(&self, path: &str, status: u16, body: impl Into<String>) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_owned(), (status, body.into()));
    }

    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().requests.clone()
    }
}

pub async fn files() -> FilesStandIn {
    let state = Arc::new(Mutex::new(FilesState::default()));
    let router = Router::new().fallback(serve_file).with_state(state.clone());
    FilesStandIn {
        url: serve(router).await,
        state,
    }
}

async fn serve_file(
    State(state): State<Arc<Mutex<FilesState>>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let mut s = state.lock().unwrap();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.requests.push((uri.to_string(), auth));
    match s.files.get(uri.path()) {
        Some((status, body)) => (
            StatusCode::from_u16(*status).unwrap(),
            [("content-type", "application/json")],
            body.clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// A Trivy JSON report (`trivy image --format json`, schema 2) of `image` with
/// `findings` as (id, severity, package) in one target, plus a target whose
/// `Vulnerabilities` is null (as Trivy writes a clean layer).
pub fn trivy_report(image: &str, findings: &[(&str, &str, &str)]) -> String {
    let vulns: Vec<Value> = findings
        .iter()
        .map(|(id, severity, pkg)| {
            json!({
                "VulnerabilityID": id,
                "PkgName": pkg,
                "InstalledVersion": "1.0.0",
                "FixedVersion": "1.0.1",
                "Severity": severity,
                "Title": format!("{id} in {pkg}"),
            })
        })
        .collect();
    json!({
        "SchemaVersion": 2,
        "ArtifactName": image,
        "ArtifactType": "container_image",
        "Results": [
            {"Target": format!("{image} (debian 12.5)"), "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulns},
            {"Target": "app/package-lock.json", "Class": "lang-pkgs", "Type": "npm", "Vulnerabilities": null},
        ]
    })
    .to_string()
}
