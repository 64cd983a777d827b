//! The fault-injecting proxy in front of moto (tests/support/fault_proxy.py),
//! which also answers the ECS service-deployment API moto lacks from a file
//! the test writes.

use super::{crate_dir, moto};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The proxy, its rules, the ECS deployments it serves and its log of every
/// request.
pub struct FaultProxy {
    pub port: u16,
    rules: tempfile::NamedTempFile,
    deployments: tempfile::NamedTempFile,
    log: tempfile::NamedTempFile,
    child: Child,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FaultProxy {
    pub fn start() -> FaultProxy {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let rules = tempfile::NamedTempFile::new().unwrap();
        let deployments = tempfile::NamedTempFile::new().unwrap();
        let log = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(rules.path(), "[]").unwrap();
        std::fs::write(deployments.path(), r#"{"deployments": []}"#).unwrap();
        let child = Command::new("python3")
            .arg(crate_dir().join("tests/support/fault_proxy.py"))
            .arg(port.to_string())
            .arg(moto::moto().port.to_string())
            .arg(rules.path())
            .arg(log.path())
            .arg(deployments.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the fault proxy did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        FaultProxy {
            port,
            rules,
            deployments,
            log,
            child,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Replaces the fault rules (see the proxy's header).
    pub fn faults(&self, rules: serde_json::Value) {
        std::fs::write(self.rules.path(), rules.to_string()).unwrap();
    }

    /// Replaces the ECS service deployments the proxy serves: `{"deployments":
    /// [{"service": NAME, "snapshots": [ServiceDeployment, ...]}]}`.
    pub fn ecs_deployments(&self, deployments: serde_json::Value) {
        self.serve("deployments", deployments["deployments"].clone());
    }

    /// Replaces the Price List products the proxy serves: `[{serviceCode,
    /// productFamily, attributes, usd}]`.
    pub fn price_list(&self, products: serde_json::Value) {
        self.serve("products", products);
    }

    /// Sets one key of the file of what the proxy answers itself.
    fn serve(&self, key: &str, value: serde_json::Value) {
        let mut served: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(self.deployments.path()).unwrap())
                .unwrap_or_else(|_| serde_json::json!({}));
        served[key] = value;
        std::fs::write(self.deployments.path(), served.to_string()).unwrap();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }
}
