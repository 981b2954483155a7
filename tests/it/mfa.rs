//! MFA as a user meets it: codes from an authenticator app are accepted once,
//! within a step of drift; wrong codes count towards a lockout that survives a
//! restart; a new authenticator is enrolled privately and becomes active only
//! after a code for it; seeds are encrypted at rest and bound to their user;
//! and no seed, key or code ever shows up in `Debug` output. Each test opens
//! its own database file in a fresh temporary directory; time is passed in.

use std::process::Command;
use std::time::Duration;

use switchyard::config::{self, Secret};
use switchyard::mfa::totp::{Algorithm, Generator, Params, Seed};
use switchyard::mfa::vault::{Vault, VaultError};
use switchyard::mfa::{Mfa, MfaError, Refusal};
use switchyard::store::{MfaState, Store};
use tempfile::TempDir;

/// 2025-01-01T00:00:00Z plus five seconds: inside a step, not on its edge.
const NOW: i64 = 1_735_689_605_000;
const STEP_MS: i64 = 30_000;
const MIN_MS: i64 = 60_000;
const KEY: &str = "4d837e4263e3c1044dd454b24e17e5b14e0833fcfc4613daca38376f48fe8cee";
/// The demo users' seeds (public, from config/demo.toml).
const ALICE: &str = "2OX2DFDI7V74PGGWOHFXB3BV2YM6YMZX";
const BOB: &str = "T3HX5SE7ETMPVI5FKDTQHGPH3HRXUEEF";
const CAROL: &str = "KROURNDJKMXRL2RMSLD5M43TMTZ6NGCR";
const DAVE: &str = "E4M6MDC2LA2OEBK5DVOFHQNHDIRP45TO";

fn url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("switchyard.db").display())
}

fn settings(with_key: bool) -> config::Mfa {
    config::Mfa {
        encryption_key: with_key.then(|| Secret::inline(KEY)),
        issuer: "switchyard-test".into(),
        ..config::Mfa::default()
    }
}

fn user(name: &str, seed: Option<&str>) -> config::User {
    config::User {
        name: name.into(),
        display_name: None,
        roles: vec![],
        totp_secret: seed.map(Secret::inline),
    }
}

/// alice and bob are pre-enrolled by the config; erin is not.
fn users() -> Vec<config::User> {
    vec![
        user("alice", Some(ALICE)),
        user("bob", Some(BOB)),
        user("erin", None),
    ]
}

async fn open(dir: &TempDir, with_key: bool) -> (Store, Mfa) {
    let store = Store::open(&url(dir)).await.expect("the store opens");
    let mfa = Mfa::new(store.clone(), &settings(with_key), &users()).expect("valid settings");
    (store, mfa)
}

async fn fresh(with_key: bool) -> (TempDir, Store, Mfa) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (store, mfa) = open(&dir, with_key).await;
    (dir, store, mfa)
}

fn params() -> Params {
    Params::new(6, Duration::from_secs(30), 1).expect("the default params are valid")
}

/// What the user's authenticator shows at `ms`.
fn code(seed_base32: &str, ms: i64) -> String {
    let seed = Seed::from_base32(seed_base32).expect("a valid seed");
    Generator::new(&seed, params()).code_at(u64::try_from(ms / 1000).expect("after 1970"))
}

/// A six-digit code that is none of the seed's codes within two steps of `ms`.
fn wrong_code(seed_base32: &str, ms: i64) -> String {
    let near: Vec<String> = (-2..=2)
        .map(|k| code(seed_base32, ms + k * STEP_MS))
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919 + 493_817) % 1_000_000))
        .find(|candidate| !near.contains(candidate))
        .expect("some code is wrong")
}

fn step_of(ms: i64) -> u64 {
    u64::try_from(ms / 1000 / 30).expect("after 1970")
}

#[test]
fn rfc_6238_appendix_b_vectors_come_out_of_our_totp_arithmetic() {
    let sha1 = b"12345678901234567890".to_vec();
    let sha256 = b"12345678901234567890123456789012".to_vec();
    let sha512 = b"1234567890"
        .repeat(6)
        .into_iter()
        .chain(*b"1234")
        .collect::<Vec<u8>>();
    assert_eq!(sha512.len(), 64);
    let params = Params::new(8, Duration::from_secs(30), 1).expect("8 digits are valid");
    let generator = |seed: &[u8], algorithm| {
        let seed = Seed::from_bytes(seed.to_vec()).expect("the RFC seeds are long enough");
        Generator::with_algorithm(&seed, params, algorithm)
    };
    let (g1, g256, g512) = (
        generator(&sha1, Algorithm::SHA1),
        generator(&sha256, Algorithm::SHA256),
        generator(&sha512, Algorithm::SHA512),
    );
    // RFC 6238 Appendix B: time, then the SHA1, SHA256 and SHA512 codes.
    let vectors: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ];
    for (time, c1, c256, c512) in vectors {
        assert_eq!(g1.code_at(time), c1, "SHA1 at {time}");
        assert_eq!(g256.code_at(time), c256, "SHA256 at {time}");
        assert_eq!(g512.code_at(time), c512, "SHA512 at {time}");
        // And the check finds them at the step they belong to.
        assert_eq!(
            g1.matching_step(c1, time),
            Some(time / 30),
            "SHA1 step at {time}"
        );
    }
}

/// Runs oathtool; a missing binary fails the test rather than skipping it.
fn oathtool(args: &[&str]) -> String {
    let out = Command::new("oathtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run oathtool ({e}): apt-get install oathtool"));
    assert!(
        out.status.success(),
        "oathtool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("oathtool prints ASCII")
        .trim()
        .to_owned()
}

#[test]
fn codes_match_oathtool_for_several_secrets_and_times() {
    let generated = Seed::generate().to_base32();
    let seeds = [ALICE, BOB, CAROL, DAVE, generated.as_str()];
    let times: [u64; 6] = [
        1,
        59,
        1_000_000_000,
        1_735_689_615,
        2_000_000_000,
        4_102_444_800,
    ];
    for (i, seed) in seeds.into_iter().enumerate() {
        let ours = Generator::new(&Seed::from_base32(seed).expect("valid"), params());
        for time in times {
            let now = format!("@{time}");
            let theirs = oathtool(&["--totp", "-b", "-N", &now, seed]);
            assert_eq!(ours.code_at(time), theirs, "seed #{i} at {time}");
        }
    }
    // Other lengths and algorithms go through the same arithmetic.
    let seed = Seed::from_base32(ALICE).expect("valid");
    let eight = Params::new(8, Duration::from_secs(60), 1).expect("valid");
    let ours = Generator::with_algorithm(&seed, eight, Algorithm::SHA256);
    for time in times {
        let now = format!("@{time}");
        let theirs = oathtool(&[
            "--totp=SHA256",
            "-b",
            "-d",
            "8",
            "-s",
            "60s",
            "-N",
            &now,
            ALICE,
        ]);
        assert_eq!(
            ours.code_at(time),
            theirs,
            "SHA256, 8 digits, 60 s at {time}"
        );
    }
}

#[tokio::test]
async fn a_right_code_is_accepted_and_returns_its_step() {
    let (_dir, _store, mfa) = fresh(true).await;
    let step = mfa
        .verify("alice", &code(ALICE, NOW), NOW)
        .await
        .expect("accepted");
    assert_eq!(step, step_of(NOW));
    // Spaces, as apps show codes ("123 456"), are ignored.
    let later = NOW + STEP_MS;
    let spaced = code(ALICE, later);
    let spaced = format!(" {} {} ", &spaced[..3], &spaced[3..]);
    assert_eq!(
        mfa.verify("alice", &spaced, later).await.expect("accepted"),
        step_of(later)
    );
}

#[tokio::test]
async fn a_wrong_code_reports_the_attempts_left() {
    let (_dir, _store, mfa) = fresh(true).await;
    let wrong = wrong_code(ALICE, NOW);
    let refusal = mfa.verify("alice", &wrong, NOW).await.unwrap_err();
    assert!(
        matches!(refusal, Refusal::Wrong { attempts_left: 4 }),
        "{refusal:?}"
    );
    assert_eq!(
        refusal.to_string(),
        "wrong code: 4 more attempts before MFA is locked for a while"
    );
    let refusal = mfa.verify("alice", &wrong, NOW + 1000).await.unwrap_err();
    assert!(
        matches!(refusal, Refusal::Wrong { attempts_left: 3 }),
        "{refusal:?}"
    );
}

#[tokio::test]
async fn a_replayed_totp_code_is_rejected() {
    let (_dir, _store, mfa) = fresh(true).await;
    let code = code(ALICE, NOW);
    mfa.verify("alice", &code, NOW).await.expect("first use");
    let refusal = mfa.verify("alice", &code, NOW + 2000).await.unwrap_err();
    assert!(matches!(refusal, Refusal::Replayed), "{refusal:?}");
    // Another replica, or a restart, sees the same record.
    let again = Mfa::new(_store.clone(), &settings(true), &users()).expect("valid");
    let refusal = again.verify("alice", &code, NOW + 3000).await.unwrap_err();
    assert!(matches!(refusal, Refusal::Replayed), "{refusal:?}");
}

#[tokio::test]
async fn an_older_code_is_refused_once_a_newer_one_was_accepted() {
    // Replay protection keeps the highest accepted step, so the previous
    // step's code, although still within the drift window, is refused too.
    let (_dir, _store, mfa) = fresh(true).await;
    mfa.verify("bob", &code(BOB, NOW), NOW)
        .await
        .expect("current code");
    let refusal = mfa
        .verify("bob", &code(BOB, NOW - STEP_MS), NOW)
        .await
        .unwrap_err();
    assert!(matches!(refusal, Refusal::Replayed), "{refusal:?}");
}

#[tokio::test]
async fn codes_one_step_off_are_accepted_and_two_steps_off_refused() {
    let (_dir, _store, mfa) = fresh(true).await;
    for offset in [-2 * STEP_MS, 2 * STEP_MS] {
        let refusal = mfa
            .verify("alice", &code(ALICE, NOW + offset), NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(refusal, Refusal::Wrong { .. }),
            "{offset}: {refusal:?}"
        );
    }
    // Increasing order: each accepted step must be above the last one.
    for offset in [-STEP_MS, STEP_MS] {
        let step = mfa
            .verify("alice", &code(ALICE, NOW + offset), NOW)
            .await
            .expect("one step of drift is accepted");
        assert_eq!(step, step_of(NOW + offset));
    }
}

#[tokio::test]
async fn five_failures_lock_out_and_a_restart_does_not_unlock() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (store, mfa) = open(&dir, true).await;
    let wrong = wrong_code(ALICE, NOW);
    for left in (1..=4).rev() {
        let refusal = mfa.verify("alice", &wrong, NOW).await.unwrap_err();
        assert!(
            matches!(refusal, Refusal::Wrong { attempts_left } if attempts_left == left),
            "{refusal:?}"
        );
    }
    let until = NOW + 15 * MIN_MS;
    let refusal = mfa.verify("alice", &wrong, NOW).await.unwrap_err();
    assert!(
        matches!(refusal, Refusal::LockedOut { until_ms } if until_ms == until),
        "{refusal:?}"
    );
    // Locked: even the right code is not looked at.
    let refusal = mfa
        .verify("alice", &code(ALICE, NOW), NOW)
        .await
        .unwrap_err();
    assert!(matches!(refusal, Refusal::LockedOut { .. }), "{refusal:?}");
    drop(mfa);
    store.close().await;

    // Restart: a new store and service on the same file.
    let (store, mfa) = open(&dir, true).await;
    let later = NOW + 5 * MIN_MS;
    let refusal = mfa
        .verify("alice", &code(ALICE, later), later)
        .await
        .unwrap_err();
    assert!(
        matches!(refusal, Refusal::LockedOut { until_ms } if until_ms == until),
        "{refusal:?}"
    );
    assert_eq!(
        refusal.to_string(),
        "too many wrong codes: MFA is locked until 00:15:05 UTC"
    );
    // Other users are not affected.
    mfa.verify("bob", &code(BOB, later), later)
        .await
        .expect("bob is not locked");

    // Once the lockout has passed, the right code works and clears the record.
    let after = until + 1000;
    mfa.verify("alice", &code(ALICE, after), after)
        .await
        .expect("unlocked");
    let state = store.mfa("alice").await.expect("readable").expect("a row");
    assert_eq!((state.failures, state.locked_until), (0, None));
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let (_dir, _store, mfa) = fresh(true).await;
    let wrong = wrong_code(ALICE, NOW);
    for _ in 0..4 {
        mfa.verify("alice", &wrong, NOW).await.unwrap_err();
    }
    mfa.verify("alice", &code(ALICE, NOW), NOW)
        .await
        .expect("accepted");
    let later = NOW + STEP_MS;
    let refusal = mfa
        .verify("alice", &wrong_code(ALICE, later), later)
        .await
        .unwrap_err();
    assert!(
        matches!(refusal, Refusal::Wrong { attempts_left: 4 }),
        "{refusal:?}"
    );
}

#[tokio::test]
async fn malformed_codes_are_refused_without_counting_as_failures() {
    let (_dir, _store, mfa) = fresh(true).await;
    for typed in ["", "12345", "1234567", "12a456", "123-456", "١٢٣٤٥٦"] {
        let refusal = mfa.verify("alice", typed, NOW).await.unwrap_err();
        assert!(
            matches!(refusal, Refusal::Malformed { digits: 6 }),
            "{typed:?}: {refusal:?}"
        );
    }
    let refusal = mfa
        .verify("alice", &wrong_code(ALICE, NOW), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(refusal, Refusal::Wrong { attempts_left: 4 }),
        "{refusal:?}"
    );
}

#[tokio::test]
async fn a_user_without_a_secret_is_not_enrolled() {
    let (_dir, _store, mfa) = fresh(true).await;
    for name in ["erin", "zed", ""] {
        let refusal = mfa.verify(name, "123456", NOW).await.unwrap_err();
        assert!(
            matches!(refusal, Refusal::NotEnrolled),
            "{name}: {refusal:?}"
        );
        assert!(!mfa.is_enrolled(name).await.expect("readable"));
    }
    assert!(mfa.is_enrolled("alice").await.expect("readable"));
}

#[tokio::test]
async fn user_names_are_case_insensitive_so_a_lockout_cannot_be_dodged() {
    let (_dir, _store, mfa) = fresh(true).await;
    let wrong = wrong_code(ALICE, NOW);
    mfa.verify("alice", &wrong, NOW).await.unwrap_err();
    let refusal = mfa.verify("ALICE", &wrong, NOW).await.unwrap_err();
    assert!(
        matches!(refusal, Refusal::Wrong { attempts_left: 3 }),
        "{refusal:?}"
    );
    mfa.verify("Alice", &code(ALICE, NOW), NOW)
        .await
        .expect("same user, same seed");
}

#[tokio::test]
async fn an_enrolled_secret_is_pending_until_a_code_confirms_it() {
    let (_dir, store, mfa) = fresh(true).await;
    let enrollment = mfa
        .begin_enrollment("erin", NOW)
        .await
        .expect("enrolment starts");
    let secret = enrollment.secret_base32.clone();
    assert_eq!(
        Seed::from_base32(&secret).expect("base32").as_bytes().len(),
        20,
        "160 bits"
    );
    assert!(
        enrollment
            .otpauth_uri
            .starts_with("otpauth://totp/switchyard-test:erin?")
    );
    assert!(enrollment.otpauth_uri.contains(&format!("secret={secret}")));
    assert!(enrollment.qr_png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");

    // Stored encrypted, as pending; not usable yet.
    let state = store.mfa("erin").await.expect("readable").expect("a row");
    let pending = state.pending_secret_enc.clone().expect("pending");
    assert!(state.secret_enc.is_none());
    assert!(
        !pending.to_ascii_uppercase().contains(&secret),
        "not in clear"
    );
    let refusal = mfa
        .verify("erin", &code(&secret, NOW), NOW)
        .await
        .unwrap_err();
    assert!(matches!(refusal, Refusal::NotEnrolled), "{refusal:?}");

    // A wrong code does not confirm (and counts); a right one does.
    let refusal = mfa
        .confirm_enrollment("erin", &wrong_code(&secret, NOW), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(refusal, Refusal::Wrong { attempts_left: 4 }),
        "{refusal:?}"
    );
    mfa.confirm_enrollment("erin", &code(&secret, NOW), NOW)
        .await
        .expect("confirmed");

    let state = store.mfa("erin").await.expect("readable").expect("a row");
    let stored = state.secret_enc.clone().expect("active");
    assert!(
        !stored.to_ascii_uppercase().contains(&secret),
        "not in clear"
    );
    assert!(state.pending_secret_enc.is_none());
    assert_eq!(state.failures, 0);
    assert!(mfa.is_enrolled("erin").await.expect("readable"));

    // The confirming code was used; the next one works.
    let refusal = mfa
        .verify("erin", &code(&secret, NOW), NOW)
        .await
        .unwrap_err();
    assert!(matches!(refusal, Refusal::Replayed), "{refusal:?}");
    let later = NOW + STEP_MS;
    mfa.verify("erin", &code(&secret, later), later)
        .await
        .expect("active");
    let refusal = mfa
        .confirm_enrollment("erin", &code(&secret, later), later)
        .await
        .unwrap_err();
    assert!(
        matches!(refusal, Refusal::NoPendingEnrollment),
        "{refusal:?}"
    );
}

#[tokio::test]
async fn replacing_an_authenticator_needs_a_recent_code_from_the_current_one() {
    let (_dir, _store, mfa) = fresh(true).await;
    let refusal = mfa.begin_enrollment("alice", NOW).await.unwrap_err();
    assert!(
        matches!(refusal, Refusal::CodeFirst { minutes: 5 }),
        "{refusal:?}"
    );

    mfa.verify("alice", &code(ALICE, NOW), NOW)
        .await
        .expect("current code");
    let enrollment = mfa
        .begin_enrollment("alice", NOW + 10_000)
        .await
        .expect("recent code");
    let new = enrollment.secret_base32;
    // Five minutes later, the code no longer vouches for a new enrolment.
    let stale = NOW + 6 * MIN_MS;
    let refusal = mfa.begin_enrollment("alice", stale).await.unwrap_err();
    assert!(matches!(refusal, Refusal::CodeFirst { .. }), "{refusal:?}");

    let t1 = NOW + MIN_MS;
    // Until confirmed, the config's seed keeps working.
    mfa.verify("alice", &code(ALICE, t1), t1)
        .await
        .expect("old seed still active");
    let t2 = t1 + STEP_MS;
    mfa.confirm_enrollment("alice", &code(&new, t2), t2)
        .await
        .expect("confirmed");
    // The enrolled seed now wins over the config's.
    let t3 = t2 + STEP_MS;
    let refusal = mfa.verify("alice", &code(ALICE, t3), t3).await.unwrap_err();
    assert!(matches!(refusal, Refusal::Wrong { .. }), "{refusal:?}");
    mfa.verify("alice", &code(&new, t3), t3)
        .await
        .expect("new seed active");
}

#[tokio::test]
async fn enrolment_needs_a_key_but_config_secrets_verify_without_one() {
    let (_dir, _store, mfa) = fresh(false).await;
    assert!(!mfa.enrollment_enabled());
    let refusal = mfa.begin_enrollment("erin", NOW).await.unwrap_err();
    assert!(
        matches!(refusal, Refusal::EnrollmentDisabled),
        "{refusal:?}"
    );
    assert_eq!(
        refusal.to_string(),
        "enrolling by chat is not enabled here: ask an admin to set mfa.encryption_key"
    );
    mfa.verify("alice", &code(ALICE, NOW), NOW)
        .await
        .expect("config seed works");
}

#[tokio::test]
async fn a_ciphertext_for_alice_does_not_decrypt_as_bobs() {
    let vault = Vault::from_hex(KEY).expect("a valid key");
    let sealed = vault.seal("alice", b"alice's seed bytes!!").expect("seals");
    assert_eq!(
        vault.open("alice", &sealed).expect("opens"),
        b"alice's seed bytes!!"
    );
    assert_eq!(vault.open("bob", &sealed), Err(VaultError::Open));

    // Through the service: alice's enrolled secret copied into bob's row.
    let (_dir, store, mfa) = fresh(true).await;
    mfa.verify("alice", &code(ALICE, NOW), NOW)
        .await
        .expect("current code");
    let new = mfa
        .begin_enrollment("alice", NOW)
        .await
        .expect("starts")
        .secret_base32;
    let t1 = NOW + STEP_MS;
    mfa.confirm_enrollment("alice", &code(&new, t1), t1)
        .await
        .expect("confirmed");
    let alice = store.mfa("alice").await.expect("readable").expect("a row");
    let mut bob = store
        .mfa("bob")
        .await
        .expect("readable")
        .unwrap_or_else(|| MfaState::new("bob"));
    bob.secret_enc = alice.secret_enc.clone();
    store.put_mfa(&bob).await.expect("written");

    let refusal = mfa.verify("bob", &code(&new, t1), t1).await.unwrap_err();
    assert!(
        matches!(&refusal, Refusal::Unavailable(MfaError::StoredSecret { user, reason: VaultError::Open }) if user == "bob"),
        "{refusal:?}"
    );
    // Nor does bob fall back to his config seed: a stored secret, even a bad one, wins.
    let refusal = mfa.verify("bob", &code(BOB, t1), t1).await.unwrap_err();
    assert!(matches!(refusal, Refusal::Unavailable(_)), "{refusal:?}");
    assert_eq!(
        refusal.to_string(),
        "MFA cannot be checked right now: please try again in a minute or ask an admin"
    );
}

#[tokio::test]
async fn debug_output_never_shows_a_secret_or_a_code() {
    let (_dir, store, mfa) = fresh(true).await;
    let enrollment = mfa.begin_enrollment("erin", NOW).await.expect("starts");
    let secret = enrollment.secret_base32.clone();
    let right = code(ALICE, NOW);
    let wrong = wrong_code(ALICE, NOW);
    let mut shown = vec![format!("{mfa:?}"), format!("{enrollment:?}")];

    let mut refusals = vec![
        mfa.verify("alice", &wrong, NOW).await.unwrap_err(),
        mfa.verify("alice", "12a456", NOW).await.unwrap_err(),
        mfa.confirm_enrollment("erin", &wrong_code(&secret, NOW), NOW)
            .await
            .unwrap_err(),
    ];
    mfa.verify("alice", &right, NOW).await.expect("accepted");
    refusals.push(mfa.verify("alice", &right, NOW).await.unwrap_err());
    for _ in 0..5 {
        refusals.push(
            mfa.verify("bob", &wrong_code(BOB, NOW), NOW)
                .await
                .unwrap_err(),
        );
    }
    let mut damaged = store.mfa("erin").await.expect("readable").expect("a row");
    damaged.secret_enc = damaged
        .pending_secret_enc
        .clone()
        .map(|s| s.replace('a', "b"));
    store.put_mfa(&damaged).await.expect("written");
    refusals.push(
        mfa.verify("erin", &code(&secret, NOW), NOW)
            .await
            .unwrap_err(),
    );
    assert!(matches!(refusals.last(), Some(Refusal::Unavailable(_))));
    for refusal in &refusals {
        shown.push(format!("{refusal:?}"));
        shown.push(refusal.to_string());
    }

    let short = "JBSWY3DPEHPK3PXP";
    let errors = [
        Mfa::new(store.clone(), &settings(true), &[user("zed", Some(short))]).unwrap_err(),
        Mfa::new(
            store.clone(),
            &config::Mfa {
                encryption_key: Some(Secret::inline(&KEY[..60])),
                ..settings(true)
            },
            &users(),
        )
        .unwrap_err(),
    ];
    for error in &errors {
        shown.push(format!("{error:?}"));
        shown.push(error.to_string());
    }

    let never = [
        ALICE,
        BOB,
        KEY,
        &KEY[..60],
        short,
        &secret,
        &enrollment.otpauth_uri,
        &right,
        &wrong,
    ];
    for text in &shown {
        for value in never {
            assert!(
                !text
                    .to_ascii_uppercase()
                    .contains(&value.to_ascii_uppercase()),
                "{text:?} shows a secret or a code"
            );
        }
    }
}

#[tokio::test]
async fn the_demo_authenticator_shows_config_seeds_only() {
    let (_dir, _store, mfa) = fresh(true).await;
    let (shown, seconds) = mfa.current_code("alice", NOW).await.expect("a demo seed");
    assert_eq!((shown.as_str(), seconds), (code(ALICE, NOW).as_str(), 25));
    mfa.verify("alice", &shown, NOW)
        .await
        .expect("the shown code works");

    let refusal = mfa.current_code("erin", NOW).await.unwrap_err();
    assert!(matches!(refusal, Refusal::NotEnrolled), "{refusal:?}");
    let secret = mfa
        .begin_enrollment("erin", NOW)
        .await
        .expect("starts")
        .secret_base32;
    mfa.confirm_enrollment("erin", &code(&secret, NOW), NOW)
        .await
        .expect("confirmed");
    let refusal = mfa.current_code("erin", NOW).await.unwrap_err();
    assert!(matches!(refusal, Refusal::NoDemoCode), "{refusal:?}");
}

/// Two replicas: two `Mfa` services, each with its own connection pool, on
/// one PostgreSQL database, as two `switchyard run` processes would be.
#[tokio::test]
async fn a_code_used_on_one_replica_is_refused_on_the_other_and_a_lockout_holds_on_both() {
    let db = crate::databases::Db::postgres().await;
    let replica = async || {
        let store = Store::open(&db.url()).await.expect("the store opens");
        Mfa::new(store, &settings(true), &users()).expect("valid settings")
    };
    let (a, b) = (replica().await, replica().await);

    let good = code(ALICE, NOW);
    assert_eq!(a.verify("alice", &good, NOW).await.unwrap(), step_of(NOW));
    let refusal = b.verify("alice", &good, NOW + 1_000).await.unwrap_err();
    assert!(matches!(refusal, Refusal::Replayed), "{refusal:?}");

    // Wrong codes count on whichever replica they land: 5 in a row lock out.
    let later = NOW + 2 * STEP_MS;
    let wrong = wrong_code(BOB, later);
    for (i, mfa) in [&a, &b, &a, &b].into_iter().enumerate() {
        let refusal = mfa
            .verify("bob", &wrong, later + i as i64)
            .await
            .unwrap_err();
        assert!(
            matches!(refusal, Refusal::Wrong { attempts_left } if attempts_left == 4 - i as u32),
            "attempt {}: {refusal:?}",
            i + 1
        );
    }
    let refusal = b.verify("bob", &wrong, later + 10).await.unwrap_err();
    assert!(matches!(refusal, Refusal::LockedOut { .. }), "{refusal:?}");
    // Locked out on the other replica too, even with the right code.
    let refusal = a
        .verify("bob", &code(BOB, later), later + 20)
        .await
        .unwrap_err();
    assert!(matches!(refusal, Refusal::LockedOut { .. }), "{refusal:?}");
}
