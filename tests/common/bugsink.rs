//! A real Sentry-protocol server for the Sentry tests: Bugsink (a self-hosted error tracker that
//! takes Sentry's envelopes), installed by `scripts/install-bugsink.sh` into
//! `target/test-tools/bugsink-venv` (run here when missing: a test that cannot have Bugsink
//! fails, saying why, and never skips).
//!
//! [`Bugsink::start`] runs one on a free 127.0.0.1 port in a temporary folder (its configuration
//! from Bugsink's `local` template, its SQLite databases migrated, events digested at once as
//! they arrive, each checked against Sentry's event schema and refused when invalid), stopped
//! (killed and reaped) and its folder removed when dropped. [`shared`] is one instance for a
//! whole test binary, stopped when the binary exits. Projects are made and stored events read
//! through Bugsink's own Django models (`tests/common/bugsink_models.py`).

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long Bugsink may take to answer once started.
const START_LIMIT: Duration = Duration::from_secs(90);

/// A running Bugsink.
pub struct Bugsink {
    /// Its folder: configuration, databases, ingestion store, log.
    dir: Mutex<Option<tempfile::TempDir>>,
    /// The folder's path (kept when `dir` is gone).
    path: PathBuf,
    /// The server process (`bugsink-manage runserver`).
    child: Mutex<Option<Child>>,
    /// Ends the thread that started the server (the server gets SIGKILL with it).
    _keeper: mpsc::Sender<()>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The virtual environment it runs from.
    venv: PathBuf,
}

/// A Bugsink project.
#[derive(Clone, Debug)]
pub struct Project {
    /// Its id.
    pub id: u64,
    /// Its DSN (its key and this server).
    pub dsn: String,
}

/// The Bugsink virtual environment: installed (or checked, which is quick) by
/// `scripts/install-bugsink.sh`; panics with the script's output when it cannot be.
pub fn venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let script = super::repo().join("scripts/install-bugsink.sh");
        let output = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("Bugsink cannot be installed: bash {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "Bugsink cannot be installed: {} failed ({}):\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let venv = std::env::var_os("PTRACE_BUGSINK_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| super::repo().join("target/test-tools/bugsink-venv"));
        assert!(
            venv.join("bin/bugsink-manage").exists(),
            "Bugsink cannot be installed: {} has no bin/bugsink-manage after {}",
            venv.display(),
            script.display()
        );
        venv
    })
    .clone()
}

/// One Bugsink for the whole test binary, started by the first test that asks; stopped when the
/// binary exits (and killed with it should it die).
pub fn shared() -> &'static Bugsink {
    static SHARED: OnceLock<Bugsink> = OnceLock::new();
    extern "C" fn stop_shared() {
        if let Some(bugsink) = SHARED.get() {
            bugsink.stop();
        }
    }
    SHARED.get_or_init(|| {
        let bugsink = Bugsink::start();
        // SAFETY: registers a plain function to run at exit.
        unsafe { libc::atexit(stop_shared) };
        bugsink
    })
}

/// A port nobody listens on at the moment, on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl Bugsink {
    /// Starts a Bugsink of its own in a temporary folder and waits until it answers.
    pub fn start() -> Bugsink {
        let venv = venv();
        let dir = tempfile::Builder::new()
            .prefix("bugsink-")
            .tempdir()
            .expect("temp dir");
        let path = dir.path().to_path_buf();
        let port = free_port();
        let conf = path.join("bugsink_conf.py");
        run(Command::new(venv.join("bin/bugsink-create-conf"))
            .args(["--template", "local", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .arg("--output-file")
            .arg(&conf));
        // Everything in the folder; events checked against Sentry's schema (an invalid one is
        // logged and not stored); tasks (the digestion of events) run as they are asked for.
        let overrides = format!(
            r#"
DATABASES["default"]["NAME"] = "{dir}/db.sqlite3"
DATABASES["snappea"]["NAME"] = "{dir}/snappea.sqlite3"
BUGSINK["INGEST_STORE_BASE_DIR"] = "{dir}/ingestion"
BUGSINK["VALIDATE_ON_DIGEST"] = "strict"
SNAPPEA["TASK_ALWAYS_EAGER"] = True
"#,
            dir = path.display()
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut file| file.write_all(overrides.as_bytes()))
            .expect("write the Bugsink configuration");
        let manage = |args: &[&str]| {
            let mut command = Command::new(venv.join("bin/bugsink-manage"));
            command.args(args);
            in_folder(&mut command, &path);
            command
        };
        run(&mut manage(&["migrate", "-v0"]));
        run(&mut manage(&["migrate", "snappea", "--database=snappea", "-v0"]));

        let log = std::fs::File::create(path.join("server.log")).expect("server log");
        let err = log.try_clone().expect("server log");
        let mut command = manage(&["runserver", "--noreload", "--skip-checks"]);
        command
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        // SAFETY: prctl is async-signal-safe. The server dies with the thread that starts it
        // (the keeper below, which lives as long as this value, or as the process).
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let (keeper, stop) = mpsc::channel::<()>();
        let (started, child) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = started.send(command.spawn());
            // Until the Bugsink is dropped (the sender with it), or the process ends.
            let _ = stop.recv();
        });
        let child = child
            .recv()
            .expect("the keeper thread")
            .expect("start bugsink-manage runserver");
        let bugsink = Bugsink {
            dir: Mutex::new(Some(dir)),
            path,
            child: Mutex::new(Some(child)),
            _keeper: keeper,
            port,
            venv,
        };
        bugsink.wait_until_answering();
        bugsink
    }

    /// Waits until the server answers HTTP; panics with its log when it ends or takes too long.
    fn wait_until_answering(&self) {
        let until = Instant::now() + START_LIMIT;
        loop {
            if let Some(status) = self
                .child
                .lock()
                .expect("child lock")
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten())
            {
                panic!("Bugsink ended ({status}) before answering:\n{}", self.log());
            }
            if answers(self.port) {
                return;
            }
            assert!(
                Instant::now() < until,
                "Bugsink did not answer on 127.0.0.1:{} within {START_LIMIT:?}:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Makes a project named `name` (a slug: unique, of letters, digits and dashes).
    pub fn project(&self, name: &str) -> Project {
        let answer = self.models(&["project", name]);
        Project {
            id: answer["id"].as_u64().expect("project id"),
            dsn: answer["dsn"].as_str().expect("project DSN").to_string(),
        }
    }

    /// Makes a superuser `name` with `password`, a member of `project`.
    pub fn user(&self, name: &str, password: &str, project: &Project) {
        self.models(&["user", name, password, &project.id.to_string()]);
    }

    /// The events Bugsink stored for `project`, in the order it digested them: each with
    /// `event_id`, `level`, `title`, `data` (the event as stored), `issue` (its title, type,
    /// value, grouping key) and `tags` (what Bugsink indexed).
    pub fn events(&self, project: &Project) -> Vec<Value> {
        match self.models(&["events", &project.id.to_string()]) {
            Value::Array(events) => events,
            other => panic!("Bugsink's events are not a list: {other}"),
        }
    }

    /// The code id and debug id that Sentry's own library (symbolic, installed with Bugsink)
    /// gives the ELF file `path`.
    pub fn ids(&self, path: &Path) -> (String, String) {
        let answer = self.models(&["ids", path.to_str().expect("utf-8 path")]);
        let id = |name: &str| {
            answer[name]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {answer}"))
                .to_string()
        };
        (id("code_id"), id("debug_id"))
    }

    /// The server's log (its requests, and why an event was not stored).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path.join("server.log")).unwrap_or_default()
    }

    /// Runs `tests/common/bugsink_models.py ARGS` against this Bugsink's databases; its JSON answer.
    fn models(&self, args: &[&str]) -> Value {
        let mut command = Command::new(self.venv.join("bin/python"));
        command
            .arg(super::repo().join("tests/common/bugsink_models.py"))
            .args(args);
        in_folder(&mut command, &self.path);
        let text = run(&mut command);
        serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("bugsink_models.py {args:?} did not answer JSON ({e}): {text}"))
    }

    /// Kills the server, reaps it and removes its folder.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().ok().and_then(|mut c| c.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.dir.lock().ok().and_then(|mut d| d.take()) {
            let _ = dir.close();
        }
    }
}

impl Drop for Bugsink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `command` run in Bugsink's `folder`, with its configuration.
fn in_folder(command: &mut Command, folder: &Path) {
    command
        .current_dir(folder)
        .env("DJANGO_SETTINGS_MODULE", "bugsink_conf")
        .env("PYTHONPATH", folder)
        .env("PYTHONDONTWRITEBYTECODE", "1");
}

/// Runs `command` to its end; its stdout, or a panic with its output when it fails.
fn run(command: &mut Command) -> String {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Whether something answers HTTP on 127.0.0.1:`port`.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}
