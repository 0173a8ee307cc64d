//! Key names, index pointers and the conversions between Redis replies and store types.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::super::{Grant, GrantId, StoreError, TokenHash};

/// First 128 bits of SHA-256 of `text`, in hex: a short, fixed-alphabet tag for ids that may
/// hold any character.
pub(crate) fn short_hash(text: &str) -> String {
    TokenHash::of(text).to_hex()[..32].to_owned()
}

/// Unix milliseconds of `t`, clamped at the epoch.
pub(super) fn millis(t: SystemTime) -> i64 {
    gameauth_core::clock::unix_millis(t).max(0)
}

/// Milliseconds from `now` to `until`, at least 1 (a Redis TTL must be positive).
pub(super) fn ttl_ms(until: SystemTime, now: SystemTime) -> i64 {
    (millis(until) - millis(now)).max(1)
}

pub(super) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn time_from_ms(text: &[u8]) -> Result<SystemTime, StoreError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
        .ok_or_else(|| StoreError::unavailable("Redis returned a malformed time"))
}

pub(super) fn text(bytes: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| StoreError::unavailable("Redis returned malformed text"))
}

pub(super) fn hash_from_hex(bytes: &[u8]) -> Result<TokenHash, StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(bytes, &mut out)
        .map_err(|_| StoreError::unavailable("Redis returned a malformed token hash"))?;
    Ok(TokenHash::from_bytes(out))
}

/// The grant of a script reply `[outcome, gid, client, player, ..]`.
pub(super) fn grant_from(reply: &[Vec<u8>]) -> Result<Arc<Grant>, StoreError> {
    match reply {
        [_, gid, client, player, ..] => Ok(Arc::new(Grant {
            grant_id: GrantId::from_string(text(gid)?),
            client_id: text(client)?,
            player_id: text(player)?,
        })),
        _ => Err(StoreError::unavailable(
            "Redis returned a short grant record",
        )),
    }
}

/// A script argument.
pub(super) fn arg(value: impl ToString) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// A grant's entry in its player's set: retention and now in Unix milliseconds, and the set's
/// TTL.
#[derive(Debug, Clone, Copy)]
pub(super) struct Membership {
    pub(super) retain: i64,
    pub(super) now: i64,
    pub(super) ttl: i64,
}

impl Membership {
    pub(super) fn new(retain: SystemTime, now: SystemTime) -> Self {
        Self {
            retain: millis(retain),
            now: millis(now),
            ttl: ttl_ms(retain, now),
        }
    }
}

/// Where a token's grant lives, as stored in its index key.
pub(super) struct Pointer {
    pub(super) tag: String,
    pub(super) player_tag: String,
}

impl Pointer {
    pub(super) fn new(tag: String, player_tag: String) -> Self {
        Self { tag, player_tag }
    }

    pub(super) fn encode(&self) -> String {
        format!("{}:{}", self.tag, self.player_tag)
    }

    pub(super) fn decode(value: &str) -> Result<Self, StoreError> {
        let (tag, player_tag) = value
            .split_once(':')
            .filter(|(t, p)| is_tag(t) && is_tag(p))
            .ok_or_else(|| StoreError::unavailable("Redis returned a malformed index entry"))?;
        Ok(Self::new(tag.to_owned(), player_tag.to_owned()))
    }
}

pub(super) fn is_tag(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The key names of one prefix.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    pub(super) prefix: String,
}

impl Keys {
    pub(super) fn grant(&self, tag: &str) -> String {
        format!("{}{{{tag}}}:grant", self.prefix)
    }
    pub(super) fn sealed(&self, tag: &str) -> String {
        format!("{}{{{tag}}}:sealed", self.prefix)
    }
    pub(super) fn code(&self, code: &TokenHash) -> String {
        format!("{}code:{}", self.prefix, code.to_hex())
    }
    pub(super) fn access(&self, access: &TokenHash) -> String {
        format!("{}access:{}", self.prefix, access.to_hex())
    }
    pub(super) fn refresh(&self, refresh: &TokenHash) -> String {
        format!("{}refresh:{}", self.prefix, refresh.to_hex())
    }
    pub(super) fn player(&self, player_tag: &str) -> String {
        format!("{}player:{player_tag}", self.prefix)
    }
    pub(super) fn grant_pattern(&self) -> String {
        format!("{}{{*}}:grant", self.prefix)
    }
    /// The tag inside a grant key found by `SCAN`.
    pub(super) fn tag_of<'k>(&self, grant_key: &'k str) -> Option<&'k str> {
        grant_key
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('{')?
            .strip_suffix("}:grant")
            .filter(|t| is_tag(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_one_grant_share_a_hash_tag_and_hold_only_hashes() {
        let keys = Keys {
            prefix: "vl:".into(),
        };
        let tag = short_hash("grant-1");
        assert_eq!(keys.grant(&tag), format!("vl:{{{tag}}}:grant"));
        assert_eq!(keys.sealed(&tag), format!("vl:{{{tag}}}:sealed"));
        assert_eq!(keys.tag_of(&keys.grant(&tag)), Some(tag.as_str()));
        assert_eq!(keys.tag_of("vl:{nothex}:grant"), None);
        let code = TokenHash::of("raw-code");
        assert_eq!(keys.code(&code), format!("vl:code:{}", code.to_hex()));
        assert!(!keys.code(&code).contains("raw-code"));
    }

    #[test]
    fn pointers_round_trip_and_reject_garbage() {
        let p = Pointer::new(short_hash("g"), short_hash("p"));
        let back = Pointer::decode(&p.encode()).unwrap();
        assert_eq!((back.tag, back.player_tag), (p.tag, p.player_tag));
        assert!(Pointer::decode("nope").is_err());
        assert!(Pointer::decode("zz:zz").is_err());
    }

    #[test]
    fn ttls_are_positive_milliseconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        assert_eq!(ttl_ms(t + Duration::from_millis(1500), t), 1500);
        assert_eq!(ttl_ms(t, t + Duration::from_secs(5)), 1);
        assert_eq!(millis(SystemTime::UNIX_EPOCH - Duration::from_secs(5)), 0);
    }
}
