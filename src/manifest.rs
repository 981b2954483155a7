//! The versions manifest (seed 001's `versions.yaml`): what runs where —
//! environment → service → version, image, when and by whom it was deployed,
//! and the commit it was built from. It is read from the store, not kept in a
//! file: the record of deployments is the source of truth, and a rollback is
//! already reflected (the deployment it undid no longer counts as live).
//! `switchyard versions` prints it; `/versions` serves it.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use crate::config::Config;
use crate::store::{Store, StoreError};

/// Every environment's services, in the configuration's promotion order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub environments: indexmap_like::Ordered<BTreeMap<String, Running>>,
}

/// One service in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Running {
    pub version: String,
    /// The image CI announced for the version; `null` when no build webhook
    /// recorded it.
    pub image: Option<String>,
    /// RFC 3339, UTC.
    pub deployed: String,
    pub deployed_by: String,
    pub commit: Option<String>,
    /// The deployment's id in the history.
    pub deployment: i64,
}

impl Manifest {
    /// Reads what runs where from `store`, environments in `config` order
    /// (environments the configuration no longer names come last, by name).
    pub async fn read(config: &Config, store: &Store) -> Result<Manifest, StoreError> {
        let mut envs: Vec<(String, BTreeMap<String, Running>)> = Vec::new();
        for d in store.live_deployments().await? {
            let build = store.build(&d.service, &d.version).await?;
            let at = d.finished_at.unwrap_or(d.state_changed_at).max(0);
            let running = Running {
                version: d.version.clone(),
                image: build.as_ref().map(|b| b.image.clone()),
                deployed: rfc3339(at),
                deployed_by: d.requested_by.clone(),
                commit: build.map(|b| b.commit),
                deployment: d.id,
            };
            match envs.iter_mut().find(|(name, _)| *name == d.env) {
                Some((_, services)) => {
                    services.insert(d.service, running);
                }
                None => envs.push((d.env, BTreeMap::from([(d.service, running)]))),
            }
        }
        envs.sort_by_key(|(name, _)| (config.position(name).unwrap_or(usize::MAX), name.clone()));
        Ok(Manifest {
            environments: indexmap_like::Ordered(envs),
        })
    }

    /// The manifest as YAML, in the shape of seed 001's `versions.yaml`.
    pub fn to_yaml(&self) -> String {
        // Plain strings, maps and integers always serialise.
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A table for people: one line per environment and service.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.environments.0.is_empty() {
            return "Nothing has been deployed yet.\n".to_owned();
        }
        out.push_str(&format!(
            "{:<6} {:<20} {:<24} {:<21} {:<10} {}\n",
            "ENV", "SERVICE", "VERSION", "DEPLOYED", "BY", "COMMIT"
        ));
        for (env, services) in &self.environments.0 {
            for (service, r) in services {
                let commit = r.commit.as_deref().map_or("-", |c| &c[..c.len().min(12)]);
                out.push_str(&format!(
                    "{:<6} {:<20} {:<24} {:<21} {:<10} {}\n",
                    env, service, r.version, r.deployed, r.deployed_by, commit
                ));
            }
        }
        out
    }
}

fn rfc3339(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(at).to_string()
}

/// A list of pairs that serialises as a map in list order: environments keep
/// their promotion order (dev, tst, prd) instead of sorting by name.
pub mod indexmap_like {
    use serde::ser::{Serialize, SerializeMap, Serializer};

    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Ordered<V>(pub Vec<(String, V)>);

    impl<V: Serialize> Serialize for Ordered<V> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }
}
