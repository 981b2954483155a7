//! Builds announced by CI through the build webhook: which image and commit a
//! version of a service is, and which webhook deliveries were already handled.
//! Claiming a delivery id is one insert-if-absent, so a delivery re-sent by the
//! CI (or replayed by someone who captured it) is recognised and ignored.

use crate::clock::Held;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::error::{During, StoreError};

/// One build of one version of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Build {
    pub service: String,
    pub version: String,
    /// The image reference CI pushed, e.g. `…/storefront-api:1.3.0`.
    pub image: String,
    /// The full commit SHA the version was built from.
    pub commit: String,
    pub branch: String,
    pub built_at: i64,
}

const SELECT: &str = "SELECT service, version, image, commit_sha, branch, built_at FROM builds";

impl Store {
    /// Claims webhook delivery `id`: true the first time, false for a delivery
    /// already seen.
    pub async fn claim_delivery(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO deliveries (delivery_id, received_at) VALUES ($1, $2) \
             ON CONFLICT (delivery_id) DO NOTHING",
        )
        .bind(id)
        .bind(at)
        .execute(&self.pool)
        .held()
        .await
        .during("recording a webhook delivery")?;
        Ok(done.rows_affected() == 1)
    }

    /// Records (or, for a rebuilt version, replaces) a build.
    pub async fn record_build(&self, build: &Build) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO builds (service, version, image, commit_sha, branch, built_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (service, version) DO UPDATE SET image = excluded.image, \
             commit_sha = excluded.commit_sha, branch = excluded.branch, built_at = excluded.built_at",
        )
        .bind(&build.service)
        .bind(&build.version)
        .bind(&build.image)
        .bind(&build.commit)
        .bind(&build.branch)
        .bind(build.built_at)
        .execute(&self.pool)
        .held()
        .await
        .during("recording a build")?;
        Ok(())
    }

    /// The build of `version` of `service`, if CI announced one.
    pub async fn build(&self, service: &str, version: &str) -> Result<Option<Build>, StoreError> {
        const OP: &str = "reading a build";
        let row = sqlx::query(&format!("{SELECT} WHERE service = $1 AND version = $2"))
            .bind(service)
            .bind(version)
            .fetch_optional(&self.pool)
            .held()
            .await
            .during(OP)?;
        row.map(|row| from_row(&row, OP)).transpose()
    }
}

fn from_row(row: &AnyRow, op: &'static str) -> Result<Build, StoreError> {
    Ok(Build {
        service: row.try_get("service").during(op)?,
        version: row.try_get("version").during(op)?,
        image: row.try_get("image").during(op)?,
        commit: row.try_get("commit_sha").during(op)?,
        branch: row.try_get("branch").during(op)?,
        built_at: row.try_get("built_at").during(op)?,
    })
}
