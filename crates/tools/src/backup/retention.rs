//! Retention after a successful `db-backup`: `--keep-last K` keeps the K newest complete backups,
//! `--keep-days N` keeps every complete backup younger than N days; a backup either rule keeps
//! stays (with both unset nothing is deleted). Only backups of the same database are considered.
//!
//! It runs only after the new backup and its manifest are written, so a failing backup never
//! costs an old one, and the new backup is always kept. Leftovers of failed runs older than the
//! new backup (an object without a manifest, a manifest without its object) are removed too. A
//! backup goes manifest first: an interrupted deletion leaves an incomplete object, never a
//! manifest pointing at nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use clap::Args;
use object_store::ObjectStoreExt as _;

use crate::backup::location::{BackupName, Store};
use crate::exit::Failure;

#[derive(Args, Debug, Clone, Default)]
pub struct Retention {
    /// After a successful backup, keep the complete backups younger than N days (and delete older ones
    /// unless --keep-last keeps them).
    #[arg(long, env = "BACKUP_KEEP_DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_days: Option<u32>,
    /// After a successful backup, keep the K newest complete backups (and delete older ones unless
    /// --keep-days keeps them).
    #[arg(long, env = "BACKUP_KEEP_LAST", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_last: Option<u32>,
}

impl Retention {
    pub fn is_set(&self) -> bool {
        self.keep_days.is_some() || self.keep_last.is_some()
    }
}

/// What the prefix holds for one backup time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Present {
    pub object: bool,
    pub manifest: bool,
}

/// What retention will do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Names to delete, in order (a manifest before its object).
    pub delete: Vec<String>,
    /// Complete backups that stay.
    pub kept: usize,
    /// Complete backups that go.
    pub removed: usize,
}

/// Decides, from what the prefix holds for `newest`'s database, what to delete.
pub fn plan(
    entries: &BTreeMap<DateTime<Utc>, Present>,
    newest: &BackupName,
    policy: &Retention,
    now: DateTime<Utc>,
) -> Plan {
    let name = |created: DateTime<Utc>| BackupName::new(&newest.database, created);
    let cutoff = policy.keep_days.map(|d| now - Duration::days(i64::from(d)));
    let mut plan = Plan::default();
    let mut complete_seen = 0u32;
    // Newest first: --keep-last counts from the top.
    for (&created, present) in entries.iter().rev() {
        if created >= newest.created {
            // The new backup, or one from a run that started later: never ours to judge.
            if present.object && present.manifest {
                complete_seen += 1;
                plan.kept += 1;
            }
            continue;
        }
        let n = name(created);
        if present.object && present.manifest {
            complete_seen += 1;
            let by_count = policy.keep_last.is_some_and(|k| complete_seen <= k);
            let by_age = cutoff.is_some_and(|c| created >= c);
            if by_count || by_age {
                plan.kept += 1;
            } else {
                plan.removed += 1;
                plan.delete.push(n.manifest());
                plan.delete.push(n.object());
            }
        } else if present.manifest {
            plan.delete.push(n.manifest());
        } else {
            plan.delete.push(n.object());
        }
    }
    plan
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("retention: cannot list {url}")]
    List {
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error("retention: cannot delete {url} (the new backup is complete)")]
    Delete {
        url: String,
        #[source]
        source: object_store::Error,
    },
}

/// Lists the prefix, applies [`plan`], deletes, and prints what it kept and deleted.
pub async fn apply(
    store: &Store,
    newest: &BackupName,
    policy: &Retention,
    now: DateTime<Utc>,
) -> Result<(), RetentionError> {
    let listing = store
        .store
        .list_with_delimiter(Some(store.base()))
        .await
        .map_err(|source| RetentionError::List {
            url: store.to_string(),
            source,
        })?;
    let mut entries: BTreeMap<DateTime<Utc>, Present> = BTreeMap::new();
    for meta in &listing.objects {
        let Some(file) = meta.location.filename() else {
            continue;
        };
        if let Some(n) = BackupName::parse_object(file) {
            if n.database == newest.database {
                entries.entry(n.created).or_default().object = true;
            }
        } else if let Some(n) = BackupName::parse_manifest(file) {
            if n.database == newest.database {
                entries.entry(n.created).or_default().manifest = true;
            }
        }
    }
    let plan = plan(&entries, newest, policy, now);
    for name in &plan.delete {
        store
            .store
            .delete(&store.path(name))
            .await
            .map_err(|source| RetentionError::Delete {
                url: store.url_of(name),
                source,
            })?;
    }
    let show = |v: Option<u32>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    eprintln!(
        "db-backup: retention (keep-last {}, keep-days {}): kept {} complete backup(s), \
         deleted {}{}",
        show(policy.keep_last),
        show(policy.keep_days),
        plan.kept,
        plan.removed,
        if plan.delete.is_empty() {
            String::new()
        } else {
            format!(" (removed {})", plan.delete.join(", "))
        }
    );
    Ok(())
}

impl From<RetentionError> for Failure {
    fn from(e: RetentionError) -> Failure {
        Failure::from(anyhow::Error::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days_ago: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(days_ago)
    }

    fn complete() -> Present {
        Present {
            object: true,
            manifest: true,
        }
    }

    #[test]
    fn either_rule_keeps_a_backup_and_leftovers_go() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let newest = BackupName::new("app", now);
        let mut entries = BTreeMap::new();
        entries.insert(now, complete());
        for d in 1..=6 {
            entries.insert(at(d, now), complete());
        }
        // A failed run's object without manifest, two days back (plus an hour).
        let orphan = at(2, now) - Duration::hours(1);
        entries.insert(
            orphan,
            Present {
                object: true,
                manifest: false,
            },
        );
        let policy = Retention {
            keep_days: Some(3),
            keep_last: Some(5),
        };
        let p = plan(&entries, &newest, &policy, now);
        assert_eq!((p.kept, p.removed), (5, 2));
        let deletes = p.delete;
        // Kept: now, 1..4 days (keep-last 5); 3 days is also within keep-days. Deleted: 5, 6.
        let n = |d| BackupName::new("app", at(d, now));
        assert_eq!(
            deletes,
            [
                BackupName::new("app", orphan).object(),
                n(5).manifest(),
                n(5).object(),
                n(6).manifest(),
                n(6).object(),
            ]
        );

        let only_days = Retention {
            keep_days: Some(2),
            keep_last: None,
        };
        let deletes = plan(&entries, &newest, &only_days, now).delete;
        // 1 and 2 days old stay (2 days is exactly at the cutoff), the rest go.
        assert_eq!(deletes.len(), 1 + 2 * 4, "{deletes:?}");
        assert!(!deletes.contains(&n(2).object()));
        assert!(deletes.contains(&n(3).object()));
    }

    #[test]
    fn the_new_backup_is_kept_whatever_the_policy() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let newest = BackupName::new("app", now);
        let entries = BTreeMap::from([(now, complete()), (at(10, now), complete())]);
        let policy = Retention {
            keep_days: Some(1),
            keep_last: Some(1),
        };
        let n = BackupName::new("app", at(10, now));
        assert_eq!(
            plan(&entries, &newest, &policy, now).delete,
            [n.manifest(), n.object()]
        );
    }
}
