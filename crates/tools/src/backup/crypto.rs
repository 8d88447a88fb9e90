//! age encryption for backups: the recipients a dump is encrypted to (X25519 public keys,
//! `age1...`) and the identity file that decrypts it.
//!
//! Only the public key ever sits next to the database (in the CronJob's Secret); the identity is
//! needed for a restore alone and can be kept offline.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use age::x25519;

/// One age X25519 public key. `Display` is the `age1...` form.
#[derive(Clone)]
pub struct RecipientKey(x25519::Recipient);

impl RecipientKey {
    /// For clap: a bad key is reported without echoing anything secret (a public key is not).
    pub fn parse(input: &str) -> Result<RecipientKey, String> {
        let input = input.trim();
        if input.starts_with("AGE-SECRET-KEY-") {
            return Err(
                "this is an age identity (secret key), not a recipient: pass its public key \
                 (age1...; `age-keygen -y FILE` prints it)"
                    .into(),
            );
        }
        x25519::Recipient::from_str(input)
            .map(RecipientKey)
            .map_err(|e| format!("not an age X25519 public key (age1...): {e}"))
    }

    pub fn recipient(&self) -> &x25519::Recipient {
        &self.0
    }
}

impl fmt::Display for RecipientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for RecipientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecipientKey({})", self.0)
    }
}

/// The identities (secret keys) of an age identity file, as `age-keygen` writes it.
pub struct Identities {
    pub keys: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// The matching public keys, for error messages.
    pub public: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read the identity file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the identity file {path} holds no age X25519 identity (AGE-SECRET-KEY-1...)")]
    Empty { path: String },
    #[error("the identity file {path} holds an identity this tools binary cannot use")]
    Unsupported { path: String },
}

impl Identities {
    pub fn load(path: &Path) -> Result<Identities, IdentityError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| IdentityError::Read {
            path: shown.clone(),
            source,
        })?;
        let unsupported = || IdentityError::Unsupported {
            path: shown.clone(),
        };
        let keys = age::IdentityFile::from_buffer(text.as_bytes())
            .map_err(|_| unsupported())?
            .into_identities()
            .map_err(|_| unsupported())?;
        // The public keys, for telling an operator which key a backup wants.
        let public: Vec<String> = text
            .lines()
            .filter_map(|l| x25519::Identity::from_str(l.trim()).ok())
            .map(|i| i.to_public().to_string())
            .collect();
        if keys.is_empty() {
            return Err(IdentityError::Empty { path: shown });
        }
        Ok(Identities { keys, public })
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.keys.iter().map(|k| k.as_ref() as &dyn age::Identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret as _;

    #[test]
    fn recipients_parse_and_secret_keys_are_refused_without_echo() {
        let id = x25519::Identity::generate();
        let public = id.to_public().to_string();
        let key = RecipientKey::parse(&format!(" {public} ")).expect("public key");
        assert_eq!(key.to_string(), public);
        let secret = id.to_string();
        let err = RecipientKey::parse(secret.expose_secret()).expect_err("secret key");
        assert!(!err.contains(secret.expose_secret()), "{err}");
        assert!(RecipientKey::parse("age1nope").is_err());
    }

    #[test]
    fn identity_files_load_with_their_public_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = x25519::Identity::generate();
        let path = dir.path().join("key.txt");
        std::fs::write(
            &path,
            format!(
                "# created: now\n# public key: {}\n{}\n",
                id.to_public(),
                id.to_string().expose_secret()
            ),
        )
        .expect("write");
        let ids = Identities::load(&path).expect("identities");
        assert_eq!(ids.public, [id.to_public().to_string()]);
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "# nothing\n").expect("write");
        assert!(Identities::load(&empty).is_err());
        let err = Identities::load(&dir.path().join("missing"))
            .err()
            .expect("missing");
        assert!(
            err.to_string().contains("cannot read the identity file"),
            "{err}"
        );
    }
}
