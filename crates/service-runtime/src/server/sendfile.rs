//! Zero-copy bodies: large response bodies kept in a sealed memfd and sent with `sendfile(2)`.
//!
//! Writing a body from memory costs the kernel a copy of every byte into the socket buffer;
//! `sendfile` from a file lets it reference the file's pages instead, which is how nginx serves
//! large static files. A service that keeps a large body for the life of the process (the site's
//! files and their encodings) makes it a [`mirror`]: the bytes move into a memfd, sealed against
//! any change, and the returned [`Bytes`] reads them through a read-only mapping of it, so they
//! are in memory once. Nothing else changes for the handlers: the body is an ordinary `Bytes`.
//!
//! The server's socket ([`ZeroCopyStream`]) recognises, in what hyper asks it to write, a slice
//! that lies inside a mirror, and sends that part with `sendfile` from the memfd at the slice's
//! offset; the response head before it goes out with `MSG_MORE`, so head and body still share
//! packets. Every other write is an ordinary (vectored) write, and a body that is not a mirror
//! (or a mirror that could not be made: no memfd, a seccomp profile refusing it) is written as
//! before.

// Two calls need `unsafe`: mapping the memfd and unmapping it. The mapping is read-only, of a
// memfd sealed against writes, shrinking and growing, so the bytes it shows can never change
// or disappear while the mapping exists, which lives as long as the last `Bytes` of it.
#![allow(unsafe_code)]

use std::io::{self, IoSlice};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use rustix::fs::{MemfdFlags, SealFlags};
use rustix::mm::{MapFlags, ProtFlags};
use rustix::net::{SendAncillaryBuffer, SendFlags};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// Bodies smaller than this stay on the heap: below it the copy costs less than the extra
/// system call of sending head and body separately.
pub const MIN_BYTES: usize = 16 * 1024;

/// `body` as a mirror if it is at least [`MIN_BYTES`] long and a memfd can be made; else `body`.
pub fn mirror(body: Bytes) -> Bytes {
    if body.len() < MIN_BYTES {
        return body;
    }
    match Mirror::new(&body) {
        Ok(m) => Bytes::from_owner(m),
        Err(e) => {
            tracing::debug!(error = %e, len = body.len(), "no memfd for a large body; it is copied when sent");
            body
        }
    }
}

/// Bytes sent with `sendfile` by this process so far (tests and the benchmark read it).
pub fn bytes_sent() -> u64 {
    SENT.load(Ordering::Relaxed)
}

static SENT: AtomicU64 = AtomicU64::new(0);

/// The live mirrors: their address ranges and memfds. Looked up on every write of a response
/// holding one; `COUNT` keeps the lookup to one atomic load in a process that has none.
static REGIONS: RwLock<Vec<Region>> = RwLock::new(Vec::new());
static COUNT: AtomicUsize = AtomicUsize::new(0);

struct Region {
    start: usize,
    end: usize,
    fd: Arc<OwnedFd>,
}

/// A sealed memfd and a read-only mapping of all of it.
struct Mirror {
    ptr: *const u8,
    len: usize,
    fd: Arc<OwnedFd>,
}

// SAFETY: the mapping is read-only and its contents sealed: shared access from any thread only
// ever reads bytes that cannot change.
unsafe impl Send for Mirror {}
unsafe impl Sync for Mirror {}

impl Mirror {
    fn new(bytes: &[u8]) -> io::Result<Mirror> {
        let fd = rustix::fs::memfd_create(
            "response-body",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )?;
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = rustix::io::write(&fd, rest)?;
            rest = &rest[n..];
        }
        rustix::fs::fcntl_add_seals(
            &fd,
            SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
        )?;
        // SAFETY: a new read-only shared mapping of the whole (non-empty) sealed file, at an
        // address the kernel picks; nothing else maps it writable (the write seal forbids it).
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                bytes.len(),
                ProtFlags::READ,
                MapFlags::SHARED,
                &fd,
                0,
            )?
        } as *const u8;
        let fd = Arc::new(fd);
        let start = ptr as usize;
        let mut regions = REGIONS.write().unwrap_or_else(|e| e.into_inner());
        regions.push(Region {
            start,
            end: start + bytes.len(),
            fd: fd.clone(),
        });
        COUNT.store(regions.len(), Ordering::Release);
        Ok(Mirror {
            ptr,
            len: bytes.len(),
            fd,
        })
    }
}

impl AsRef<[u8]> for Mirror {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr..ptr+len` is the mapping made in `new`, unmapped only in `drop`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        let mut regions = REGIONS.write().unwrap_or_else(|e| e.into_inner());
        regions.retain(|r| !Arc::ptr_eq(&r.fd, &self.fd));
        COUNT.store(regions.len(), Ordering::Release);
        drop(regions);
        // SAFETY: the mapping made in `new`; the last `Bytes` of it is being dropped, so no
        // slice of it is alive.
        let _ = unsafe { rustix::mm::munmap(self.ptr as *mut _, self.len) };
    }
}

/// The mirror holding all of `slice`, and the slice's offset in it.
fn mirrored(slice: &[u8]) -> Option<(Arc<OwnedFd>, u64)> {
    if COUNT.load(Ordering::Acquire) == 0 || slice.is_empty() {
        return None;
    }
    let start = slice.as_ptr() as usize;
    let end = start + slice.len();
    let regions = REGIONS.read().unwrap_or_else(|e| e.into_inner());
    regions
        .iter()
        .find(|r| r.start <= start && end <= r.end)
        .map(|r| (r.fd.clone(), (start - r.start) as u64))
}

/// A TCP stream whose writes send slices of mirrors with `sendfile`.
pub struct ZeroCopyStream {
    stream: TcpStream,
}

impl ZeroCopyStream {
    pub fn new(stream: TcpStream) -> Self {
        ZeroCopyStream { stream }
    }

    /// `head` with `MSG_MORE`, then the body (`len` bytes at `offset` of the memfd `fd`) with
    /// `sendfile`, as far as the socket takes them; the bytes sent, or `WouldBlock` if none.
    fn send(
        socket: BorrowedFd<'_>,
        head: &[IoSlice<'_>],
        fd: &OwnedFd,
        offset: u64,
        len: usize,
    ) -> io::Result<usize> {
        let head_len: usize = head.iter().map(|s| s.len()).sum();
        let mut sent = 0;
        if head_len > 0 {
            sent = rustix::net::sendmsg(
                socket,
                head,
                &mut SendAncillaryBuffer::default(),
                SendFlags::MORE | SendFlags::NOSIGNAL,
            )?;
            if sent < head_len {
                return Ok(sent);
            }
        }
        let mut at = offset;
        match rustix::fs::sendfile(socket, fd, Some(&mut at), len) {
            Ok(n) => {
                SENT.fetch_add(n as u64, Ordering::Relaxed);
                Ok(sent + n)
            }
            // The head went out: report it; the error (or the wait) comes with the next call.
            Err(_) if sent > 0 => Ok(sent),
            Err(e) => Err(e.into()),
        }
    }
}

impl AsyncRead for ZeroCopyStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ZeroCopyStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let found = bufs
            .iter()
            .enumerate()
            .find_map(|(i, b)| mirrored(b).map(|m| (i, m)));
        let Some((i, (fd, offset))) = found else {
            return Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        };
        let len = bufs[i].len();
        let stream = &this.stream;
        loop {
            ready!(stream.poll_write_ready(cx))?;
            match stream.try_io(Interest::WRITABLE, || {
                Self::send(stream.as_fd(), &bufs[..i], &fd, offset, len)
            }) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bodies_stay_on_the_heap_and_large_ones_become_mirrors() {
        let small = Bytes::from(vec![7u8; MIN_BYTES - 1]);
        assert!(mirrored(&mirror(small.clone())).is_none());
        let data: Vec<u8> = (0..MIN_BYTES * 3).map(|i| (i % 251) as u8).collect();
        let m = mirror(Bytes::from(data.clone()));
        assert_eq!(&m[..], &data[..], "the mirror reads back what was written");
        let (fd, offset) = mirrored(&m[100..200]).expect("a slice of a mirror is found");
        assert_eq!(offset, 100);
        assert!(
            mirrored(&data[..]).is_none(),
            "a copy of the bytes is not the mirror"
        );
        drop(m);
        let regions = REGIONS.read().expect("regions");
        assert!(
            !regions.iter().any(|r| Arc::ptr_eq(&r.fd, &fd)),
            "a dropped mirror is unregistered"
        );
    }
}
