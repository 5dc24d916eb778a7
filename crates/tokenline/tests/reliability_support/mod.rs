//! Shared helpers of the `reliability_*` tests (issue #7): a `tokenline sim` subprocess, bounded
//! runs of `tokenline` (a run over its limit is a hang and fails the test), a reproducible
//! PRNG for kill moments, and the end-of-run invariant check of a batch against the simulated
//! tokens' own flash.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use provision::journal::TokenStatus;
use provision::{Journal, SerialNumber};
use token_app::TokenApp;
use token_proto::{Request, Response, State};
use token_sim::FilePlatform;

pub const BIN: &str = env!("CARGO_BIN_EXE_tokenline");

/// An environment variable as a number, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Prints a figure of issue #7 and keeps it in `<target>/tmp/reliability-figures/<name>.txt`,
/// which scripts/test.d/zz-reliability-figures.sh prints at the end of ./scripts/test.
pub fn figure(name: &str, text: &str) {
    eprintln!("FIGURE {text}");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability-figures");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.txt")), format!("{text}\n"));
}

/// SplitMix64: reproducible kill moments and fault seeds (not for secrets).
pub struct Rng(u64);

impl Rng {
    /// From `RELIABILITY_SEED` when set (to replay a failure), else from the clock; prints it.
    pub fn from_env(what: &str) -> Rng {
        let seed = std::env::var("RELIABILITY_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{what}: RELIABILITY_SEED={seed} (set it to replay this run)");
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }
}

/// The `tokenline sim` subprocess of the `line_*` tests (killed on drop); here started with
/// [`Sim::start_with`].
#[path = "../line_support/mod.rs"]
mod line_support;
pub use line_support::Sim;

/// What a finished command printed.
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Starts `tokenline <args>` with piped output.
pub fn spawn(args: &[String], env: &[(&str, &str)]) -> Child {
    Command::new(BIN)
        .args(args)
        .env("TOKENLINE_REGISTRY", registry_beside_journal(args))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tokenline")
}

/// Collects a child's output on threads (so a full pipe never blocks it).
pub struct Running {
    child: Child,
    out: std::thread::JoinHandle<String>,
    err: std::thread::JoinHandle<String>,
}

impl Running {
    pub fn new(mut child: Child) -> Running {
        let mut o = child.stdout.take().unwrap();
        let mut e = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = o.read_to_string(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        });
        Running { child, out, err }
    }

    /// True while the process runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGKILL (no chance to clean up), then the output so far.
    pub fn kill(mut self) -> Output {
        let _ = self.child.kill();
        self.finish()
    }

    /// Waits at most `limit`; over it the process is a hang: killed, and the test fails.
    pub fn wait(mut self, limit: Duration, what: &str) -> Output {
        let deadline = Instant::now() + limit;
        while self.running() {
            if Instant::now() > deadline {
                let out = self.kill();
                panic!(
                    "HANG: {what} did not finish within {limit:?}\nstderr:\n{}",
                    out.stderr
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.finish()
    }

    fn finish(mut self) -> Output {
        let status = self.child.wait().unwrap();
        Output {
            code: status.code(),
            stdout: self.out.join().unwrap(),
            stderr: self.err.join().unwrap(),
        }
    }
}

/// Runs `tokenline <args>` to the end, at most `limit` (over it: a hang, the test fails).
pub fn run(args: &[String], env: &[(&str, &str)], limit: Duration) -> Output {
    Running::new(spawn(args, env)).wait(limit, &format!("tokenline {}", args.join(" ")))
}

pub fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A simulated token as its own flash says, read through the same token-app code.
#[derive(Debug)]
pub struct FlashToken {
    pub hwid: String,
    pub state: State,
    pub serial: Option<String>,
    /// The display after a press: (code, moving factor), for a provisioned or locked token.
    pub display: Option<(u32, u64)>,
    /// The token's Ed25519 device key (what `line enroll` collects).
    pub device_key: Option<[u8; 32]>,
}

/// Every token the simulator ever had, from `<state-dir>/tokens/*.rec`. Pressing the button of
/// a TOTP token writes nothing, so this does not change the tokens.
pub fn flash_tokens(state_dir: &Path) -> Vec<FlashToken> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(state_dir.join("tokens")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(hwid) = name.strip_suffix(".rec") else {
            continue;
        };
        let id: [u8; 8] = hex::decode(hwid).unwrap().try_into().unwrap();
        let mut platform = FilePlatform::new(id, e.path());
        let mut app = TokenApp::new();
        let Response::Info(info) = app.handle(&mut platform, &Request::Identify) else {
            panic!("identify {hwid}")
        };
        let display = match app.handle(
            &mut platform,
            &Request::ReadDisplay {
                hardware_id: info.hardware_id,
            },
        ) {
            Response::Display(d) => Some((d.value(), d.moving_factor)),
            _ => None,
        };
        v.push(FlashToken {
            hwid: hwid.to_string(),
            state: info.state,
            serial: info.credential.map(|c| c.serial.to_string()),
            display,
            device_key: info.device_key,
        });
    }
    v.sort_by(|a, b| a.hwid.cmp(&b.hwid));
    v
}

/// What the end-of-batch check counted.
#[derive(Debug, Default)]
pub struct Accounting {
    pub tokens_seen: usize,
    pub locked: usize,
    pub locked_journal_locked: usize,
    pub locked_journal_verified: usize,
    pub unlocked_reported: usize,
    pub blank_untouched: usize,
    pub exported: usize,
    /// Serials of locked tokens whose lock the journal has not confirmed (status verified).
    pub unconfirmed: Vec<String>,
}

/// The promises of issue #7 for one batch, checked against the simulated tokens' flash:
/// - no serial is on two tokens, and no token's serial is outside the journal;
/// - every locked token has its seed in the journal (it decrypts, and HOTP of it at the
///   token's own moving factor is the code the token displays), as a locked (or verified,
///   lock unconfirmed: see [`assert_unconfirmed_reported`]) record of that hardware id;
/// - every serial the journal calls locked is on a locked token with that hardware id;
/// - every other token is blank, or provisioned and reported (a failed, void or in-flight
///   journal record, or an unserialed failure, names its hardware id);
/// - with `exported`, every token locked in the journal has its serial and seed in that file.
pub fn check_batch(
    journal_dir: &Path,
    state_dir: &Path,
    exported: Option<&HashMap<String, Vec<u8>>>,
) -> Accounting {
    let j = Journal::open(journal_dir).expect("the journal opens after every crash");
    // A sealed batch has no key: the seeds are those the bank opened from the export.
    let sealed = j.manifest().sealed_to.is_some();
    let key = (!sealed).then(|| j.load_key().expect("batch key"));
    let params = j.manifest().params;
    let tokens = flash_tokens(state_dir);
    let mut acc = Accounting {
        tokens_seen: tokens.len(),
        ..Accounting::default()
    };

    let mut serials_on_tokens = HashSet::new();
    for t in &tokens {
        if let Some(s) = &t.serial {
            assert!(
                serials_on_tokens.insert(s.clone()),
                "serial {s} is on two tokens (second: {})",
                t.hwid
            );
        }
    }
    for t in &tokens {
        match t.state {
            State::Locked => {
                acc.locked += 1;
                let serial = t.serial.clone().expect("a locked token has a serial");
                let sn = SerialNumber::parse(&serial).unwrap();
                let rec = j.record(&sn).unwrap_or_else(|| {
                    panic!(
                        "locked token {} serial {serial} is not in the journal",
                        t.hwid
                    )
                });
                assert_eq!(
                    rec.hwid, t.hwid,
                    "serial {serial}: journal names another token"
                );
                match rec.status {
                    TokenStatus::Locked => acc.locked_journal_locked += 1,
                    TokenStatus::Verified => {
                        acc.locked_journal_verified += 1;
                        acc.unconfirmed.push(serial.clone());
                    }
                    ref other => panic!(
                        "locked token {} serial {serial}: journal status {other:?}",
                        t.hwid
                    ),
                }
                let seed = match &key {
                    Some(key) => j
                        .seed_of(key, &sn)
                        .unwrap_or_else(|e| panic!("seed of {serial} does not decrypt: {e}"))
                        .to_vec(),
                    None => {
                        assert!(
                            j.record(&sn).is_some_and(|r| r.generated.is_some()),
                            "locked token {serial}: its sealed record is not journaled"
                        );
                        match exported.and_then(|x| x.get(&serial)) {
                            Some(s) => s.clone(),
                            // Lock unconfirmed: not exported yet, reported by `line status`.
                            None if rec.status == TokenStatus::Verified => continue,
                            None => panic!("locked token {serial} is not importable"),
                        }
                    }
                };
                let (code, step) = t.display.expect("a locked TOTP token displays a code");
                let want = otp_core::hotp(params.hash, &seed, step, params.digits).unwrap();
                assert!(
                    otp_core::codes_equal(code, want),
                    "token {serial} displays a code the journal's seed does not give"
                );
                if let (Some(x), TokenStatus::Locked) = (exported, &rec.status) {
                    let s = x.get(&serial).unwrap_or_else(|| {
                        panic!("locked token {serial} is missing from the exported seed file")
                    });
                    assert!(
                        s.as_slice() == seed.as_slice(),
                        "exported seed of {serial} differs from the journal's"
                    );
                    acc.exported += 1;
                }
            }
            State::Provisioned => {
                let reported = j
                    .records()
                    .any(|r| r.hwid == t.hwid && r.status != TokenStatus::Locked)
                    || j.unserialed_failures().iter().any(|f| f.hwid == t.hwid);
                assert!(
                    reported,
                    "provisioned, unlocked token {} (serial {:?}) is not reported",
                    t.hwid, t.serial
                );
                acc.unlocked_reported += 1;
            }
            State::Blank => acc.blank_untouched += 1,
        }
    }
    for r in j.records().filter(|r| r.status == TokenStatus::Locked) {
        let t = tokens
            .iter()
            .find(|t| t.hwid == r.hwid)
            .unwrap_or_else(|| panic!("journal: {} locked on unknown token {}", r.serial, r.hwid));
        assert_eq!(
            t.state,
            State::Locked,
            "journal says {} is locked, the token is {:?}",
            r.serial,
            t.state
        );
        assert_eq!(t.serial.as_deref(), Some(r.serial.as_str()));
    }
    let range = j.manifest().serials;
    for r in j.records() {
        assert!(
            range.contains(&r.serial),
            "serial {} outside the batch range",
            r.serial
        );
    }
    acc
}

/// Reads a `.tlseed` export with a pre-shared key file: serial → seed.
pub fn read_export(file: &Path, key_file: &Path) -> HashMap<String, Vec<u8>> {
    let key = match seedfile::KeyFile::read(key_file).unwrap() {
        seedfile::KeyFile::PreShared(k) => seedfile::Key::PreShared(k),
        _ => panic!("not a pre-shared key file"),
    };
    let reader = seedfile::open(std::fs::File::open(file).unwrap(), &key).unwrap();
    let mut map = HashMap::new();
    for r in reader {
        let r = r.unwrap();
        assert!(
            map.insert(r.serial.clone(), r.seed.to_vec()).is_none(),
            "serial {} twice in the export",
            r.serial
        );
    }
    map
}

/// A locked token whose lock the journal did not confirm (its Ack was lost and the token left
/// the station) is not exported: `line status` must tell the operator to put it back.
pub fn assert_unconfirmed_reported(journal: &Path, acc: &Accounting) {
    if acc.unconfirmed.is_empty() {
        return;
    }
    let out = run(
        &strings(&[
            "line",
            "status",
            "--journal",
            &journal.display().to_string(),
        ]),
        &[],
        Duration::from_secs(30),
    );
    let text = format!("{}{}", out.stdout, out.stderr);
    for serial in &acc.unconfirmed {
        assert!(
            text.lines().any(|l| l.contains(serial.as_str()) && l.contains("lock not confirmed")),
            "locked token {serial} is neither locked in the journal nor reported by line status:\n{text}"
        );
    }
}

/// Tests keep the serial registry beside the batch journal (`TOKENLINE_REGISTRY`), never in
/// the user's data directory: each test's ranges are its own.
pub fn registry_beside_journal<S: AsRef<str>>(args: &[S]) -> std::path::PathBuf {
    let journal = args
        .iter()
        .position(|a| a.as_ref() == "--journal")
        .and_then(|i| args.get(i + 1))
        .map(|j| std::path::PathBuf::from(j.as_ref()));
    match journal.as_ref().and_then(|j| j.parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("registry.sqlite"),
        _ => std::env::temp_dir().join("tokenline-test-registry.sqlite"),
    }
}

/// Opens a sealed export as the bank does (bank key, device list): serial → seed. The device
/// list is signed here from the tokens' own device keys, as `line enroll` would have listed
/// them; every record must pass every check (signature, opening, both readings).
pub fn open_sealed_export(
    file: &Path,
    bank_key: &Path,
    state_dir: &Path,
) -> HashMap<String, Vec<u8>> {
    let bank = match seedfile::KeyFile::read(bank_key).unwrap() {
        seedfile::KeyFile::Private(k) => k,
        _ => panic!("not a private key file"),
    };
    let mut devices = seedfile::devices::DeviceList::new();
    for t in flash_tokens(state_dir) {
        if let Some(k) = t.device_key {
            devices.add(&t.hwid, k).unwrap();
        }
    }
    let (header, records) = seedfile::sealed::read(std::fs::File::open(file).unwrap()).unwrap();
    let opened = seedfile::sealed::open(&header, &records, &bank, &devices)
        .unwrap_or_else(|e| panic!("the bank refuses the sealed export: {e}"));
    opened
        .into_iter()
        .map(|r| (r.serial.clone(), r.seed.to_vec()))
        .collect()
}
