//! Process metrics read from `/proc` at scrape time, under the names every Prometheus client
//! uses (`process_resident_memory_bytes`, `process_cpu_seconds_total`, `process_open_fds`...),
//! so the usual dashboards work. Nothing is measured between scrapes.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Linux reports CPU times in `/proc` in USER_HZ, which is 100 on every architecture.
const USER_HZ: f64 = 100.0;

/// What `/proc/self` says about this process; fields that cannot be read are left out.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sample {
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub threads: Option<u64>,
    pub start_time_seconds: Option<f64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
}

impl Sample {
    /// Reads `/proc/self/{stat,status,fd,limits}` and `/proc/stat` (for the boot time).
    pub fn read() -> Sample {
        let mut sample = Sample::default();
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            let kib = |key: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            };
            sample.resident_bytes = kib("VmRSS:").map(|k| k * 1024);
            sample.virtual_bytes = kib("VmSize:").map(|k| k * 1024);
            sample.threads = kib("Threads:");
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().collect())
                .unwrap_or_default();
            // rest[0] is field 3 (state): utime is field 14, stime 15, starttime 22.
            let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
            if let (Some(utime), Some(stime)) = (field(14), field(15)) {
                sample.cpu_seconds = Some((utime + stime) as f64 / USER_HZ);
            }
            let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            });
            if let (Some(boot), Some(start)) = (boot, field(22)) {
                sample.start_time_seconds = Some(boot as f64 + start as f64 / USER_HZ);
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            // The directory handle itself is one of the entries.
            sample.open_fds = Some(dir.count().saturating_sub(1) as u64);
        }
        if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
            sample.max_fds = limits
                .lines()
                .find_map(|l| l.strip_prefix("Max open files"))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok());
        }
        sample
    }
}

/// The collector registered with every service's registry.
#[derive(Debug, Default)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = Sample::read();
        let gauges: [(&str, &str, Option<f64>); 6] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                s.resident_bytes.map(|v| v as f64),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                s.virtual_bytes.map(|v| v as f64),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                s.open_fds.map(|v| v as f64),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                s.max_fds.map(|v| v as f64),
            ),
            (
                "process_threads",
                "Number of OS threads in the process",
                s.threads.map(|v| v as f64),
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
                s.start_time_seconds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let gauge = ConstGauge::new(v);
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        if let Some(v) = s.cpu_seconds {
            let counter = ConstCounter::new(v);
            // prometheus-client appends `_total` to counter names.
            counter.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_cpu_and_fds() {
        let s = Sample::read();
        assert!(s.resident_bytes.unwrap_or(0) > 1024 * 1024, "{s:?}");
        assert!(s.cpu_seconds.is_some(), "{s:?}");
        assert!(s.open_fds.unwrap_or(0) >= 3, "{s:?}");
        assert!(s.max_fds.unwrap_or(0) >= s.open_fds.unwrap_or(0), "{s:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let started = s.start_time_seconds.unwrap_or(0.0);
        assert!(started > 1e9 && started <= now + 1.0, "{s:?}");
    }
}
