//! Exec-to-first-200 timer for `bench/run.sh` (std only; the `bench` workspace member, built
//! with the release binaries so fmt and clippy cover it like the rest).
//!
//! `startup-time RUNS CMD [ARGS...]` starts CMD RUNS times, each with `PORT` set to a fresh free
//! loopback port and `HOST=127.0.0.1`, and measures from just before `spawn` to the first
//! `200` answered by `GET /healthz`. It polls every 0.5 ms, so figures are exact to about 1 ms.
//! Each child is killed (SIGKILL) after its first 200; its output is discarded. Prints
//! `median min max` in milliseconds.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn healthy(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(runs), Some(cmd)) = (
        args.first().and_then(|r| r.parse::<usize>().ok()),
        args.get(1),
    ) else {
        eprintln!("usage: startup-time RUNS CMD [ARGS...]");
        return ExitCode::from(2);
    };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let port = match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
            Ok(a) => a.port(),
            Err(e) => {
                eprintln!("no free port: {e}");
                return ExitCode::FAILURE;
            }
        };
        let start = Instant::now();
        let mut child = match Command::new(cmd)
            .args(&args[2..])
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("cannot start {cmd}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut ok = false;
        while start.elapsed() < Duration::from_secs(10) {
            if healthy(port) {
                ok = true;
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("{cmd} exited before answering 200: {status}");
                return ExitCode::FAILURE;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let elapsed = start.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        if !ok {
            eprintln!("{cmd} did not answer 200 on /healthz within 10 s");
            return ExitCode::FAILURE;
        }
        times.push(elapsed.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{:.1} {:.1} {:.1}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    ExitCode::SUCCESS
}
