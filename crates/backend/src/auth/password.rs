//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1, OWASP's baseline).
//! Hashes are PHC strings, so parameters can be raised later without invalidating old hashes.
//!
//! Each hash needs [`MEMORY_PER_HASH`] of working memory, so how many run at once decides the
//! process's peak memory. [`HashPool`] runs them on the blocking pool behind a semaphore sized
//! to fit the container's memory limit ([`HashPool::auto_size`]), and gives each slot one
//! working buffer that is reused from hash to hash: allocating 19 MiB per hash let the allocator
//! keep a freed buffer per thread (glibc arenas), and a burst then grew the process far past
//! what the semaphore allowed. A request that cannot get a slot within a short wait is answered
//! 503 with `Retry-After` instead of queueing without bound.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::password_hash::try_generate_salt;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// argon2id's working memory for one hash (m_cost is in KiB): 19 MiB with the defaults.
pub const MEMORY_PER_HASH: u64 = Params::DEFAULT_M_COST as u64 * 1024;

/// Share of the memory limit that hashing may use (1/2); the rest is the process itself (pool,
/// connections, buffers, allocator slack).
const MEMORY_SHARE_DIVISOR: u64 = 2;

/// Hashes per CPU at most: more than that only queue for the CPU, each holding its memory.
const HASHES_PER_CPU: usize = 2;

/// What a client that found every hashing slot busy is told to wait before retrying.
const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Working memory for one hash at a time, kept between hashes.
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    /// The first `params.block_count()` blocks, growing the buffer if a stored hash asks for
    /// more than the defaults (ours never do; the growth is then kept, like the buffer).
    fn blocks(&mut self, params: &Params) -> &mut [Block] {
        let needed = params.block_count();
        if self.0.len() < needed {
            self.0.resize(needed, Block::new());
        }
        &mut self.0[..needed]
    }
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash(password: &str) -> Result<String, HashError> {
    hash_with(password, &mut Memory::default())
}

/// True when `password` matches `phc`. A malformed stored hash counts as a mismatch.
pub fn verify(password: &str, phc: &str) -> bool {
    verify_with(password, phc, &mut Memory::default())
}

fn hash_with(password: &str, memory: &mut Memory) -> Result<String, HashError> {
    let failed = |e: &dyn std::fmt::Display| HashError(e.to_string());
    let params = Params::default();
    let salt = try_generate_salt().map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut out,
            memory.blocks(&params),
        )
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

fn verify_with(password: &str, phc: &str, memory: &mut Memory) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(stored.algorithm.as_str()),
        Params::try_from(&stored),
    ) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut out,
            memory.blocks(&params),
        )
        .is_ok()
        // Output's equality is constant-time.
        && Output::new(&out).is_ok_and(|computed| computed == *expected)
}

/// A valid hash of a password nobody has, verified when the email is unknown so that unknown
/// emails take as long as wrong passwords (no account enumeration by timing).
fn dummy_hash(memory: &mut Memory) -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_with("no user has this password", memory).unwrap_or_default())
}

/// At most `size` hashes at once, on the blocking pool, each with a reused working buffer; a
/// caller waits at most `max_wait` for a slot, then gets [`ApiError::Overloaded`].
pub struct HashPool {
    permits: Arc<Semaphore>,
    /// Buffers of idle slots. A slot takes one (or makes one) when it starts and puts it back
    /// before its permit is released, so there are never more than `size`.
    idle: Arc<Mutex<Vec<Memory>>>,
    size: usize,
    max_wait: Duration,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("size", &self.size)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

impl HashPool {
    pub fn new(size: usize, max_wait: Duration) -> Self {
        let size = size.max(1);
        HashPool {
            permits: Arc::new(Semaphore::new(size)),
            idle: Arc::new(Mutex::new(Vec::with_capacity(size))),
            size,
            max_wait,
        }
    }

    /// Hashes that fit: half of `memory_limit` at [`MEMORY_PER_HASH`] each, at least 1, at
    /// most two per CPU (also the answer when there is no limit).
    pub fn auto_size(memory_limit: Option<u64>, cpus: usize) -> usize {
        let cap = cpus.max(1) * HASHES_PER_CPU;
        match memory_limit {
            Some(limit) => {
                let fit = limit / MEMORY_SHARE_DIVISOR / MEMORY_PER_HASH;
                usize::try_from(fit).unwrap_or(usize::MAX).clamp(1, cap)
            }
            None => cap,
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// [`hash`], within the bound.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move |memory| hash_with(&password, memory))
            .await?
            .map_err(ApiError::internal)
    }

    /// [`verify`], within the bound; `None` verifies against a dummy hash (same cost, always
    /// false), for an email without an account.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, ApiError> {
        self.run(move |memory| match &phc {
            Some(phc) => verify_with(&password, phc, memory),
            None => {
                let dummy = dummy_hash(memory);
                verify_with(&password, dummy, memory);
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Overloaded {
                retry_after_secs: RETRY_AFTER_SECS,
            })?
            .map_err(ApiError::internal)?;
        let idle = self.idle.clone();
        // The permit moves into the blocking task: if the client goes away and this future is
        // dropped, the hash still runs to its end and keeps its slot until then.
        tokio::task::spawn_blocking(move || {
            // A poisoned lock only means a hash panicked elsewhere; the list is still sound.
            let take = || idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut memory = take().unwrap_or_default();
            let result = work(&mut memory);
            idle.lock().unwrap_or_else(|p| p.into_inner()).push(memory);
            drop(permit);
            result
        })
        .await
        .map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher, PasswordVerifier};

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn round_trip() {
        let h = super::hash("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong", &h));
        assert!(!super::verify("x", "not a hash"));
    }

    #[test]
    fn compatible_with_the_argon2_crates_own_hashes() {
        // Stored hashes were written by `Argon2::default().hash_password`: they must still verify,
        // and ours must verify there, or existing users could not log in.
        let theirs = Argon2::default()
            .hash_password(b"correct horse")
            .expect("hash")
            .to_string();
        assert!(super::verify("correct horse", &theirs));
        assert!(!super::verify("wrong", &theirs));
        let ours = super::hash("correct horse").expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC");
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        // Other parameters (a future cost raise) verify too, in a buffer that grows to fit.
        let bigger = Argon2::from(Params::new(32 * 1024, 1, 1, None).expect("params"))
            .hash_password(b"correct horse")
            .expect("hash")
            .to_string();
        let mut memory = Memory::default();
        assert!(verify_with("correct horse", &ours, &mut memory));
        assert!(verify_with("correct horse", &bigger, &mut memory));
        assert!(verify_with("correct horse", &ours, &mut memory));
    }

    #[test]
    fn sized_from_the_memory_limit_within_one_and_two_per_cpu() {
        assert_eq!(MEMORY_PER_HASH, 19 * MIB);
        // The production pod: 256 MiB leaves 128 MiB for hashing, 6 hashes; 2 CPUs cap it at 4.
        assert_eq!(HashPool::auto_size(Some(256 * MIB), 2), 4);
        assert_eq!(HashPool::auto_size(Some(256 * MIB), 8), 6);
        assert_eq!(HashPool::auto_size(Some(64 * MIB), 8), 1);
        assert_eq!(HashPool::auto_size(Some(MIB), 8), 1);
        assert_eq!(HashPool::auto_size(None, 3), 6);
        assert_eq!(HashPool::auto_size(None, 0), 2);
    }

    #[tokio::test]
    async fn a_busy_pool_answers_overloaded_after_the_wait() {
        let pool = HashPool::new(1, Duration::from_millis(50));
        let held = pool.permits.clone().acquire_owned().await.expect("permit");
        let err = pool.hash("correct horse".into()).await.expect_err("busy");
        assert!(
            matches!(
                err,
                ApiError::Overloaded {
                    retry_after_secs: 1
                }
            ),
            "{err:?}"
        );
        drop(held);
        let phc = pool.hash("correct horse".into()).await.expect("free again");
        assert!(pool
            .verify("correct horse".into(), Some(phc))
            .await
            .expect("verify"));
        assert!(!pool.verify("x".into(), None).await.expect("dummy"));
        // One slot, one buffer, reused.
        assert_eq!(pool.idle.lock().expect("lock").len(), 1);
    }
}
