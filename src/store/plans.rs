//! Each deployment's plan and script, saved before its first step so that a
//! restarted engine continues with the thresholds and steps it started with,
//! whatever the configuration file says by then.

use crate::clock::Held;
use sqlx::Row;

use super::Store;
use super::error::{During, StoreError};

impl Store {
    /// Saves the plan and script of deployment `id` (once; saving again with the
    /// same content is a no-op, different content is refused).
    pub async fn save_plan(
        &self,
        id: i64,
        plan: &serde_json::Value,
        script: &serde_json::Value,
    ) -> Result<(), StoreError> {
        const OP: &str = "saving a deployment's plan";
        let (plan_text, script_text) = (plan.to_string(), script.to_string());
        sqlx::query(
            "INSERT INTO deployment_plans (deployment_id, plan, script) VALUES ($1, $2, $3) \
             ON CONFLICT (deployment_id) DO NOTHING",
        )
        .bind(id)
        .bind(&plan_text)
        .bind(&script_text)
        .execute(&self.pool)
        .held()
        .await
        .during(OP)?;
        match self.plan(id).await? {
            Some((p, s)) if &p == plan && &s == script => Ok(()),
            Some(_) => Err(StoreError::Contended { op: OP }),
            None => Err(StoreError::NotFound {
                op: OP,
                what: format!("deployment {id}"),
            }),
        }
    }

    /// The plan and script saved for deployment `id`.
    pub async fn plan(
        &self,
        id: i64,
    ) -> Result<Option<(serde_json::Value, serde_json::Value)>, StoreError> {
        const OP: &str = "reading a deployment's plan";
        let row = sqlx::query("SELECT plan, script FROM deployment_plans WHERE deployment_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .held()
            .await
            .during(OP)?;
        let Some(row) = row else { return Ok(None) };
        let parse = |col: &str| -> Result<serde_json::Value, StoreError> {
            let text: String = row.try_get(col).during(OP)?;
            serde_json::from_str(&text).map_err(|e| StoreError::corrupt(OP, "plan", e))
        };
        Ok(Some((parse("plan")?, parse("script")?)))
    }
}
