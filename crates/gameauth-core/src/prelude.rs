//! What every provider crate re-exports, so that code using one provider crate (a custom
//! transport, a session verifier, a test with a fixed clock) needs no other dependency than that
//! crate and an async runtime. A provider crate re-exports it with
//! `pub use gameauth_core::prelude::*;`.

pub use crate::secrecy::{ExposeSecret, SecretString};
pub use crate::{
    AuthError, Clock, FixedIds, HttpTransport, IdGenerator, IssueRequest, IssuedSecret,
    IssuedToken, KeyRing, ManualClock, PlayerToken, RandomIds, SystemClock, TokenIssuer,
    TokenVerifier, TransportError, TransportErrorKind, VerifiedPlayer, VerifyRequest, async_trait,
    bytes, http,
};
