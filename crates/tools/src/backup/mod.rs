//! Backups: `db-backup` ([`create`]) and `db-restore` ([`restore`]), encrypted with age and kept
//! in an object store, with the parts they share: backup URLs and object names ([`location`]),
//! the manifest that marks a backup complete ([`manifest`]), keys ([`crypto`]), retention
//! ([`retention`]), and running `pg_dump` / `pg_restore` ([`pg`]).
//!
//! Under a prefix, a backup is two objects: `<database>-<UTC time>.dump.age` (pg_dump's custom
//! format, age-encrypted) and `<that>.manifest.json`, written last. `latest.json` is a copy of the
//! newest manifest, for monitoring.

pub mod create;
pub mod crypto;
pub mod location;
pub mod manifest;
pub mod pg;
pub mod restore;
pub mod retention;

/// `1.5 MiB`-style sizes for progress lines.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_are_readable() {
        assert_eq!(super::human_bytes(512), "512 B");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
        assert_eq!(super::human_bytes(3 << 30), "3.0 GiB");
    }
}
