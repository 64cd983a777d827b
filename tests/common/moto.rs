//! A moto server (Python moto in server mode) on a free loopback port, shared
//! by every test of the `aws` binary, and the environment that points deployer
//! at it. The server is killed when the test process exits.

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Moto {
    pub port: u16,
}

impl Moto {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// How many tasks moto reports running for every ECS service it creates
/// (moto runs none; `status` tests read this as the services' running count).
pub const ECS_SERVICE_RUNNING: u32 = 2;

/// The shared server, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        start(vec![(
            "MOTO_ECS_SERVICE_RUNNING".into(),
            ECS_SERVICE_RUNNING.to_string(),
        )])
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// moto's own `moto_server` answers each request on a new thread, and its
/// DynamoDB checks a condition and then writes without holding a lock: two
/// concurrent conditional puts can both succeed, which real DynamoDB never
/// allows. The lock tests race processes against each other, so they need
/// moto to answer one request at a time.
const SINGLE_THREADED_MOTO: &str = "
import sys
from werkzeug.serving import run_simple
from moto.server import DomainDispatcherApplication, create_backend_app
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
";

fn start(env: Vec<(String, String)>) -> Moto {
    let port = free_port();
    let (tx, rx) = std::sync::mpsc::channel();
    // The thread that spawns moto lives as long as the process: the kernel kills
    // moto when that thread's process ends (PR_SET_PDEATHSIG).
    std::thread::spawn(move || {
        let mut command = Command::new("python3");
        command
            .args(["-c", SINGLE_THREADED_MOTO, &port.to_string()])
            .env("MOTO_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .envs(env);
        use std::os::unix::process::CommandExt;
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn();
        tx.send(child.as_ref().map(|_| ()).map_err(|e| e.to_string()))
            .unwrap();
        let _child = child;
        loop {
            std::thread::park();
        }
    });
    rx.recv()
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot start python3 for moto ({e})"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto did not start on port {port}: is it installed? (pip install 'moto[server]')"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto { port }
}

/// Environment that points deployer's AWS clients at moto and nowhere else.
pub fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    vec![
        ("AWS_ENDPOINT_URL".into(), endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
    ]
}

/// In-process clients read credentials and endpoint from the environment,
/// like the binary does; without this they would look for real AWS.
pub fn point_this_process_at(endpoint: &str) {
    for (k, v) in aws_env(endpoint) {
        // SAFETY: tests set the same values in every thread.
        unsafe { std::env::set_var(k, v) };
    }
}

/// A unique name for a bucket or table (lowercase, S3-safe).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}
