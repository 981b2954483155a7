//! Databases for tests that run on both store backends: a SQLite file in a
//! fresh temporary directory, or a fresh database on the local PostgreSQL
//! server (dropped again afterwards). The server is `SWITCHYARD_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`, the local server
//! with trust auth that `scripts/test` checks for); a test that cannot reach it
//! fails saying how to get one, it never skips.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;

/// The maintenance database tests create their own databases from.
pub fn server_url() -> String {
    std::env::var("SWITCHYARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// One database for one test.
pub struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database to drop at the end.
    pg: Option<String>,
}

impl Db {
    pub fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("a temporary directory");
        Db {
            url: format!("sqlite://{}", dir.path().join("switchyard.db").display()),
            _dir: Some(dir),
            pg: None,
        }
    }

    pub async fn postgres() -> Db {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "sy_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let server = server_url();
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no PostgreSQL at {server} ({e}): start the local server \
                 (Debian: apt-get install postgresql && service postgresql start; \
                 trust auth for 127.0.0.1) or set SWITCHYARD_TEST_POSTGRES"
                )
            });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("creating a test database");
        let _ = admin.close().await;
        let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
        Db {
            url: format!("{base}/{name}"),
            _dir: None,
            pg: Some(name),
        }
    }

    /// The store URL (the same every call: a test may reopen it).
    pub fn url(&self) -> String {
        self.url.clone()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let Some(name) = self.pg.take() else { return };
        // Drop is not async: a short-lived runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&server_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Runs the test body `$body` once on SQLite and once on PostgreSQL, as two
/// tests `NAME::sqlite` and `NAME::postgres`, with `$db` the [`Db`].
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident, $db:ident => $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let $db = $crate::databases::Db::sqlite();
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let $db = $crate::databases::Db::postgres().await;
                $body
            }
        }
    };
}
