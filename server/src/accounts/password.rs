//! Passwords: what is accepted, and argon2id hashes of them.
//!
//! Promises: a password is 8 to 128 characters and not only spaces; hashes are argon2id in the
//! PHC string format with a random salt (argon2's recommended parameters); verification is
//! constant-time in the hash; both run on the blocking pool, off the async workers.
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// A password as typed, checked against the rules.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(format!(
                "The password must have at least {MIN_CHARS} characters."
            ));
        }
        if chars > MAX_CHARS {
            return Err(format!(
                "The password must have at most {MAX_CHARS} characters."
            ));
        }
        if raw.trim().is_empty() {
            return Err("The password cannot be only spaces.".into());
        }
        Ok(Self(raw.to_string()))
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// The argon2id hash of `password` (PHC string).
pub async fn hash(password: Password) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| format!("hashing failed: {e}"))
    })
    .await
    .map_err(|e| format!("hashing task failed: {e}"))?
}

/// Whether `password` matches `hash`. A malformed hash never matches.
pub async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let a = hash(Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        let b = hash(Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a random salt each time");
        assert!(verify("correct horse".into(), a.clone()).await);
        assert!(!verify("correct horsf".into(), a).await);
        assert!(!verify("x".into(), "not a hash".into()).await);
    }

    #[test]
    fn the_rules_are_clear() {
        assert!(Password::parse("short").unwrap_err().contains("at least 8"));
        assert!(Password::parse(&"x".repeat(129))
            .unwrap_err()
            .contains("at most 128"));
        assert!(Password::parse("        ").is_err());
        assert!(Password::parse("ünïcödé!").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("secret123").unwrap()),
            "Password([redacted])"
        );
    }
}
