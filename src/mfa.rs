//! TOTP multi-factor authentication (RFC 6238, RFC 4226, NIST SP 800-63B):
//! the second factor environments with `policy.mfa` ask for before a change.
//!
//! The conversation layer asks [`Mfa::verify`] whether a code is right; the
//! answer is the accepted time step or a [`Refusal`] whose `Display` is the
//! sentence to show. Users enrol by chat with [`Mfa::begin_enrollment`] (a new
//! seed, shown privately as an otpauth URI and a QR code) and
//! [`Mfa::confirm_enrollment`] (one valid code activates it). The parts:
//!
//! - [`totp`]: code arithmetic: seeds, the code at a time, the step a code
//!   matches within the accepted drift, compared in constant time.
//! - [`vault`]: seeds sealed at rest with XChaCha20-Poly1305, bound to their user.
//! - `service`: [`Mfa`], which adds replay protection, the persistent lockout
//!   and enrolment on top of the store's `mfa_state` rows.
//!
//! No seed, key, ciphertext or code is ever logged or shown by `Debug`.

mod error;
mod service;
pub mod totp;
pub mod vault;

pub use error::{MfaError, Refusal};
pub use service::{Enrollment, Mfa};
