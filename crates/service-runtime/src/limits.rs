//! What the container lets this process use, so pools and caps can be sized to fit inside it
//! instead of inside the whole machine: the cgroup memory limit (a pod's `resources.limits.memory`,
//! `docker run --memory`).
//!
//! Read from the process's own cgroup and every ancestor up to the mount root, taking the
//! smallest limit: inside a container the root is the container's own cgroup, on a host the
//! process's cgroup path (from `/proc/self/cgroup`) leads to it. cgroup v2 (`memory.max`) and
//! v1 (`memory/memory.limit_in_bytes`) are both understood.

use std::path::{Path, PathBuf};

/// v1 reports "no limit" as a huge page-aligned number (`LONG_MAX` rounded down); anything at or
/// above this is treated as unlimited.
const V1_UNLIMITED: u64 = 1 << 62;

/// The memory limit of this process's cgroup in bytes, or `None` when there is none.
pub fn memory_limit() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    memory_limit_in(Path::new("/sys/fs/cgroup"), &own)
}

/// [`memory_limit`] with the cgroup mount root and the text of `/proc/self/cgroup` given.
pub fn memory_limit_in(cgroup_root: &Path, proc_self_cgroup: &str) -> Option<u64> {
    let mut limits = Vec::new();
    for line in proc_self_cgroup.lines() {
        // "hierarchy-id:controllers:path"; v2 is "0::/path".
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            limits.extend(walk_up(cgroup_root, path, "memory.max"));
        } else if controllers.split(',').any(|c| c == "memory") {
            limits.extend(walk_up(
                &cgroup_root.join("memory"),
                path,
                "memory.limit_in_bytes",
            ));
        }
    }
    // No /proc/self/cgroup (or an unexpected one): the mount roots are still worth a look.
    limits.extend(read_limit(&cgroup_root.join("memory.max")));
    limits.extend(read_limit(
        &cgroup_root.join("memory/memory.limit_in_bytes"),
    ));
    limits.into_iter().min()
}

/// The limits in `file` found in `root/path` and each of its ancestors up to `root`.
fn walk_up(root: &Path, path: &str, file: &str) -> Vec<u64> {
    let mut dir: PathBuf = root.join(path.trim_start_matches('/'));
    let mut found = Vec::new();
    loop {
        found.extend(read_limit(&dir.join(file)));
        if dir == root || !dir.pop() || !dir.starts_with(root) {
            return found;
        }
    }
}

/// One limit file: a number of bytes, or "max" (v2) / a huge number (v1) for none.
fn read_limit(file: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let bytes: u64 = text.trim().parse().ok()?;
    (bytes < V1_UNLIMITED).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn v2_takes_the_smallest_limit_on_the_way_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "memory.max", "max\n");
        write(root, "kubepods/memory.max", "1073741824\n");
        write(root, "kubepods/pod1/memory.max", "268435456\n");
        write(root, "kubepods/pod1/app/memory.max", "max\n");
        assert_eq!(
            memory_limit_in(root, "0::/kubepods/pod1/app\n"),
            Some(268_435_456)
        );
        // Inside a container with its own cgroup namespace the path is "/".
        write(root, "memory.max", "536870912\n");
        assert_eq!(memory_limit_in(root, "0::/\n"), Some(536_870_912));
    }

    #[test]
    fn v1_reads_the_memory_controller_and_ignores_unlimited() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(
            root,
            "memory/memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        let proc = "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n";
        assert_eq!(memory_limit_in(root, proc), None);
        // Docker mounts the container's own cgroup at the root: the path does not exist there.
        write(root, "memory/memory.limit_in_bytes", "268435456\n");
        assert_eq!(memory_limit_in(root, proc), Some(268_435_456));
        write(
            root,
            "memory/docker/abc/memory.limit_in_bytes",
            "134217728\n",
        );
        assert_eq!(memory_limit_in(root, proc), Some(134_217_728));
    }

    #[test]
    fn nothing_readable_means_no_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(memory_limit_in(dir.path(), ""), None);
        assert_eq!(memory_limit_in(dir.path(), "garbage"), None);
    }
}
