//! No key in any log: every test that handles an AI provider key or a
//! master key takes it from here, so each is distinctive (random) and
//! recorded; [`capture_logs`] records everything the test process logs at
//! TRACE (every crate, the HTTP and database stacks included), and
//! [`command`]/[`output`] do the same for the binaries a test spawns
//! (`RUST_LOG=trace`, their stdout and stderr kept). [`assert_no_key_logged`]
//! then looks for every recorded key in everything captured so far: as
//! typed, in base64 (standard and URL-safe, at each of the three byte
//! alignments, so a key inside a longer encoded value is found too) and in
//! hex. The last 4 characters of an API key may be shown; the rest never.
//!
//! Each test binary captures into one buffer, also written to
//! `target/test-logs/<binary>-<pid>.log` (or `$SERVERPULSE_TEST_LOG_DIR`)
//! so a failure can be read afterwards. A key-handling test calls
//! [`assert_no_key_logged`] when it ends; tests of one binary run in
//! parallel, so each check also covers what the others logged until then.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use rand::RngCore as _;
use shared::config::{MasterKey, Secret};

/// One recorded key.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub label: String,
    /// The key's bytes as a process would hold them.
    pub bytes: Vec<u8>,
    /// What may be shown of it (an API key's last 4 characters).
    pub shown: usize,
}

fn registry() -> &'static Mutex<Vec<Recorded>> {
    static KEYS: OnceLock<Mutex<Vec<Recorded>>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

fn record(label: &str, bytes: Vec<u8>, shown: usize) {
    registry().lock().unwrap().push(Recorded {
        label: label.to_owned(),
        bytes,
        shown,
    });
}

/// A new API key: `sk-sptest-<label>-` and 24 random hex digits, recorded.
pub fn api_key(label: &str) -> String {
    let mut random = [0u8; 12];
    rand::rng().fill_bytes(&mut random);
    let key = format!("sk-sptest-{label}-{}", hex::encode(random));
    record(label, key.clone().into_bytes(), 4);
    key
}

/// [`api_key`] as configuration holds it.
pub fn api_secret(label: &str) -> Secret {
    Secret::new(api_key(label))
}

/// A new random master key, recorded; its hex form is what
/// `SERVERPULSE_MASTER_KEY` would hold.
pub fn master_key(label: &str) -> (MasterKey, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    record(label, bytes.to_vec(), 0);
    (MasterKey::from_bytes(bytes), hex::encode(bytes))
}

/// Every key recorded in this process so far.
pub fn recorded() -> Vec<Recorded> {
    registry().lock().unwrap().clone()
}

/// The texts whose presence in a log means `key` leaked.
pub fn forms(key: &Recorded) -> Vec<String> {
    let hidden = &key.bytes[..key.bytes.len() - key.shown.min(key.bytes.len())];
    let mut forms = Vec::new();
    if let Ok(text) = std::str::from_utf8(hidden) {
        forms.push(text.to_owned());
        // The random part alone (after `sk-sptest-<label>-`).
        if let Some(tail) = text.rsplit('-').next().filter(|t| t.len() >= 12) {
            forms.push(tail.to_owned());
        }
    }
    forms.push(hex::encode(&key.bytes));
    forms.push(hex::encode_upper(&key.bytes));
    for engine in [STANDARD, URL_SAFE] {
        for pad in 0..3 {
            let mut aligned = vec![0u8; pad];
            aligned.extend_from_slice(&key.bytes);
            let encoded = engine.encode(&aligned);
            // Characters that depend only on the key's bytes, whatever
            // precedes or follows it in a longer encoded value.
            let start = if pad == 0 { 0 } else { 4 };
            let end = encoded.trim_end_matches('=').len().saturating_sub(4);
            if end > start + 12 {
                forms.push(encoded[start..end].to_owned());
            }
        }
    }
    forms.push(STANDARD_NO_PAD.encode(&key.bytes));
    forms.push(URL_SAFE_NO_PAD.encode(&key.bytes));
    forms.sort();
    forms.dedup();
    forms
}

/// The recorded keys found in `logs`, with the form found.
pub fn leaks(logs: &str, keys: &[Recorded]) -> Vec<(String, String)> {
    keys.iter()
        .flat_map(|key| {
            forms(key)
                .into_iter()
                .filter(|form| logs.contains(form.as_str()))
                .map(|form| (key.label.clone(), form))
        })
        .collect()
}

struct Capture {
    buffer: Mutex<Vec<u8>>,
    file: Mutex<Option<std::fs::File>>,
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let dir = std::env::var_os("SERVERPULSE_TEST_LOG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-logs")
            });
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "test".to_owned());
        let file = std::fs::create_dir_all(&dir).ok().and_then(|()| {
            std::fs::File::create(dir.join(format!("{binary}-{}.log", std::process::id()))).ok()
        });
        Capture {
            buffer: Mutex::new(Vec::new()),
            file: Mutex::new(file),
        }
    })
}

fn append(bytes: &[u8]) {
    let capture = capture();
    capture.buffer.lock().unwrap().extend_from_slice(bytes);
    if let Some(file) = capture.file.lock().unwrap().as_mut() {
        let _ = file.write_all(bytes);
    }
}

#[derive(Clone, Copy)]
struct Writer;

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        append(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures everything this process logs, at every level, from now on
/// (once per process; later calls do nothing).
pub fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| Writer)
            .with_ansi(false)
            .try_init();
    });
}

/// A spawned binary's command made to log everything (`RUST_LOG=trace`,
/// text lines); pass its [`Output`] to [`output`].
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env("RUST_LOG", "trace").env("LOG_FORMAT", "text");
    command
}

/// Adds a spawned binary's stdout and stderr to the captured logs, its
/// terminal colour codes taken out (so nothing splits a logged value).
pub fn output(name: &str, output: &Output) {
    append(format!("---- {name}: stdout\n").as_bytes());
    append(&without_colours(&output.stdout));
    append(format!("---- {name}: stderr\n").as_bytes());
    append(&without_colours(&output.stderr));
}

/// `bytes` without ANSI escape sequences (`ESC [ … letter`).
fn without_colours(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b && bytes.get(i + 1) == Some(&b'[') {
            i += 2;
            while i < bytes.len() && !bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            i += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The check of one test: [`capture_logs`] when made, and
/// [`assert_no_key_logged`] when dropped at the test's end (not when the
/// test already failed). Make it first, so it is dropped last.
#[must_use = "the check runs when this is dropped at the test's end"]
pub struct NoKeyLogged(());

/// Starts a key-handling test's check (see [`NoKeyLogged`]).
pub fn check() -> NoKeyLogged {
    capture_logs();
    NoKeyLogged(())
}

impl Drop for NoKeyLogged {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_no_key_logged();
        }
    }
}

/// Everything captured so far.
pub fn captured() -> String {
    String::from_utf8_lossy(&capture().buffer.lock().unwrap()).into_owned()
}

/// Panics when any recorded key, in any of its [`forms`], is in the logs
/// captured so far, or when nothing verbose was captured (a check of
/// nothing proves nothing).
pub fn assert_no_key_logged() {
    let logs = captured();
    assert!(
        logs.contains(" TRACE ") || logs.contains(" DEBUG "),
        "no verbose log was captured: call capture_logs() first"
    );
    let keys = recorded();
    assert!(!keys.is_empty(), "no key was recorded");
    let found = leaks(&logs, &keys);
    assert!(found.is_empty(), "keys in the logs: {found:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_as_typed_in_base64_at_any_alignment_and_in_hex() {
        let key = Recorded {
            label: "k".into(),
            bytes: b"sk-sptest-k-0123456789abcdef01234567".to_vec(),
            shown: 4,
        };
        let text = std::str::from_utf8(&key.bytes).unwrap();
        let clean = "INFO the key ending in 4567 is stored";
        assert!(leaks(clean, std::slice::from_ref(&key)).is_empty());
        for pad in [&b""[..], b"a", b"ab", b"Bearer "] {
            let mut value = pad.to_vec();
            value.extend_from_slice(&key.bytes);
            value.extend_from_slice(b"!");
            for logged in [
                STANDARD.encode(&value),
                URL_SAFE_NO_PAD.encode(&value),
                hex::encode(&key.bytes),
                format!("Authorization: Bearer {text}"),
                format!("key={}", &text[11..]),
            ] {
                assert!(
                    !leaks(&logged, std::slice::from_ref(&key)).is_empty(),
                    "{logged} not found"
                );
            }
        }
    }

    #[test]
    fn colour_codes_are_taken_out_of_a_spawned_binarys_output() {
        assert_eq!(
            without_colours(b"\x1b[2m2026\x1b[0m \x1b[34mDEBUG\x1b[0m key=x"),
            b"2026 DEBUG key=x"
        );
    }
}
