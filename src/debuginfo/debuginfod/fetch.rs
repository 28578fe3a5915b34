//! Fetching the missing debug files of a process's objects: every server asked at once, the
//! first good answer kept, the whole bounded in time; one warning per object left without.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::cache::{Cache, CacheLookup};
use super::progress::Progress;
use super::transfer::fetch_one;
use super::{Config, FetchError};
use crate::debuginfo::LoadedObject;

/// The most transfers at once.
const MAX_PARALLEL: usize = 8;

/// How often the progress line is refreshed while waiting.
const TICK: Duration = Duration::from_millis(100);

/// One object whose debug file is wanted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The object's path (for messages).
    pub object: String,
    /// Its build id, lowercase hex.
    pub build_id: String,
}

impl Request {
    /// The request for `object` when it needs one: a file (not the vDSO) with a build id and
    /// no debug information, its own or from a separate debug file found locally.
    pub fn for_object(object: &LoadedObject) -> Option<Self> {
        if object.path.starts_with('[') || object.has_dwarf() || object.debug_file.is_some() {
            return None;
        }
        Some(Self {
            object: object.path.clone(),
            build_id: object.build_id.clone()?,
        })
    }
}

/// What a fetch did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The build ids whose debug file is now in the cache.
    pub fetched: Vec<String>,
    /// One line for each object left without a debug file, naming it, its build id and why.
    pub warnings: Vec<String>,
}

/// What the fetching threads share.
struct Shared {
    agent: ureq::Agent,
    cache: Cache,
    servers: Vec<String>,
    ids: Vec<String>,
    /// Each (request, server) pair, requests first.
    jobs: Vec<(usize, usize)>,
    next: AtomicUsize,
    /// Per request: settled (a file found, or given up).
    done: Vec<AtomicBool>,
    deadline: Instant,
}

/// What one transfer reports.
struct Report {
    request: usize,
    server: usize,
    result: Result<PathBuf, FetchError>,
}

/// Fetches the debug files of `requests` that the cache does not hold into the cache, asking
/// every server of `config` at once, within `config.total_timeout`. Never waits longer: a
/// transfer still running then is abandoned (it ends by itself at the same bound). A cached
/// miss costs no network; a miss on every server (all answered 404) is recorded in the cache.
pub fn fetch_missing(config: &Config, requests: &[Request]) -> Outcome {
    let cache = Cache::open(&config.cache);
    let mut outcome = Outcome::default();
    let mut seen = HashSet::new();
    let mut wanted: Vec<&Request> = Vec::new();
    for request in requests {
        if !seen.insert(request.build_id.as_str()) {
            continue;
        }
        match cache.lookup(&request.build_id) {
            CacheLookup::Hit(_) => outcome.fetched.push(request.build_id.clone()),
            CacheLookup::KnownMiss(age) => outcome.warnings.push(format!(
                "{}: no debug file: the debuginfod servers had none {} s ago (a miss is \
                 remembered {} s in {})",
                label(request),
                age.as_secs(),
                cache.miss_expiry().as_secs(),
                cache.dir().display()
            )),
            CacheLookup::Absent => wanted.push(request),
        }
    }
    if wanted.is_empty() || config.total_timeout.is_zero() || config.servers.is_empty() {
        return outcome;
    }
    let deadline = Instant::now() + config.total_timeout;
    let shared = Arc::new(Shared {
        agent: crate::http::agent(config.transfer_timeout),
        cache,
        servers: config.servers.clone(),
        ids: wanted.iter().map(|r| r.build_id.clone()).collect(),
        jobs: (0..wanted.len())
            .flat_map(|request| (0..config.servers.len()).map(move |server| (request, server)))
            .collect(),
        next: AtomicUsize::new(0),
        done: wanted.iter().map(|_| AtomicBool::new(false)).collect(),
        deadline,
    });
    let (sender, receiver) = mpsc::channel();
    let mut started = 0;
    for _ in 0..shared.jobs.len().min(MAX_PARALLEL) {
        let (shared, sender) = (Arc::clone(&shared), sender.clone());
        let spawned = std::thread::Builder::new()
            .name("debuginfod".to_string())
            .spawn(move || work(&shared, &sender));
        if spawned.is_ok() {
            started += 1;
        }
    }
    drop(sender);
    if started == 0 {
        outcome.warnings.push(format!(
            "debuginfod: no thread could be started; {} debug files not fetched",
            wanted.len()
        ));
        return outcome;
    }
    collect(config, &shared, &wanted, &receiver, &mut outcome);
    outcome
}

/// Takes the next job until there is none: fetches one build id from one server, unless that
/// build id is settled already, and reports.
fn work(shared: &Shared, reports: &mpsc::Sender<Report>) {
    while let Some(&(request, server)) = shared.jobs.get(shared.next.fetch_add(1, Ordering::Relaxed)) {
        let (Some(done), Some(id), Some(url)) = (
            shared.done.get(request),
            shared.ids.get(request),
            shared.servers.get(server),
        ) else {
            continue;
        };
        if done.load(Ordering::Relaxed) {
            continue;
        }
        let result = fetch_one(&shared.agent, url, id, &shared.cache, shared.deadline, done);
        if reports
            .send(Report {
                request,
                server,
                result,
            })
            .is_err()
        {
            return; // the fetch was given up
        }
    }
}

/// Waits for the reports until every request is settled or the deadline passes; fills
/// `outcome`.
fn collect(
    config: &Config,
    shared: &Shared,
    wanted: &[&Request],
    reports: &mpsc::Receiver<Report>,
    outcome: &mut Outcome,
) {
    let mut failures: Vec<Vec<(usize, FetchError)>> = wanted.iter().map(|_| Vec::new()).collect();
    let mut settled = vec![false; wanted.len()];
    let mut count = 0;
    let mut progress = Progress::new(config.progress, wanted.len(), &config.servers);
    while count < wanted.len() {
        let left = shared.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match reports.recv_timeout(left.min(TICK)) {
            Ok(report) => {
                let (Some(request), Some(failed), Some(flag)) = (
                    wanted.get(report.request),
                    failures.get_mut(report.request),
                    settled.get_mut(report.request),
                ) else {
                    continue;
                };
                if *flag {
                    continue;
                }
                match report.result {
                    Ok(_) => {
                        outcome.fetched.push(request.build_id.clone());
                        *flag = true;
                    }
                    Err(error) => {
                        failed.push((report.server, error));
                        if failed.len() < config.servers.len() {
                            continue;
                        }
                        if failed.iter().all(|(_, e)| matches!(e, FetchError::NotFound)) {
                            if let Err(e) = shared.cache.record_miss(&request.build_id) {
                                outcome.warnings.push(format!("debuginfod: {e}"));
                            }
                        }
                        outcome
                            .warnings
                            .push(warning(request, &config.servers, failed, None));
                        *flag = true;
                    }
                }
                if let Some(done) = shared.done.get(report.request) {
                    done.store(true, Ordering::Relaxed);
                }
                count += 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        progress.update(count);
    }
    progress.finish(count);
    for (index, request) in wanted.iter().enumerate() {
        if settled.get(index).copied().unwrap_or(true) {
            continue;
        }
        if let Some(done) = shared.done.get(index) {
            done.store(true, Ordering::Relaxed);
        }
        let failed = failures.get(index).map_or(&[][..], Vec::as_slice);
        outcome.warnings.push(warning(
            request,
            &config.servers,
            failed,
            Some(config.total_timeout),
        ));
    }
}

/// `<object> (build id <id>)`.
fn label(request: &Request) -> String {
    format!("{} (build id {})", request.object, request.build_id)
}

/// The one line saying why `request` got no debug file: each server's answer, and those that
/// gave none within `ran_out` (the total bound, when it ran out).
fn warning(
    request: &Request,
    servers: &[String],
    failed: &[(usize, FetchError)],
    ran_out: Option<Duration>,
) -> String {
    let mut reasons: Vec<String> = failed
        .iter()
        .map(|(server, error)| {
            let url = servers.get(*server).map_or("?", String::as_str);
            format!("{url}: {error}")
        })
        .collect();
    if let Some(bound) = ran_out {
        let silent: Vec<&str> = servers
            .iter()
            .enumerate()
            .filter(|(index, _)| !failed.iter().any(|(server, _)| server == index))
            .map(|(_, url)| url.as_str())
            .collect();
        reasons.push(format!(
            "{}: no answer within the total bound of {} s (--debuginfod-timeout)",
            silent.join(", "),
            bound.as_secs_f64()
        ));
    }
    format!(
        "{}: no debug file from debuginfod: {}",
        label(request),
        reasons.join("; ")
    )
}
