//! A deterministic generator of synthetic deployment repositories for benchmarks:
//! N services spread over stacks of 20, each with a mix of component kinds,
//! presets, overlays, templates, configs and `uses`.

use std::fmt::Write as _;
use std::path::Path;

pub const SERVICES_PER_STACK: usize = 20;

/// Writes a repository with `services` services under `root`, `per_stack` in
/// each stack. Returns the number of files written.
pub fn generate_in_stacks_of(root: &Path, services: usize, per_stack: usize) -> usize {
    let mut files = 0;
    let mut write = |rel: String, text: String| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        files += 1;
    };
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("shared");
    for entry in walk(&shared) {
        let rel = entry.strip_prefix(&shared).unwrap().display().to_string();
        write(
            format!("shared/{rel}"),
            std::fs::read_to_string(&entry).unwrap(),
        );
    }
    let stacks = services.div_ceil(per_stack);
    for s in 0..stacks {
        let stack = format!("stack-{s:03}");
        write(format!("stacks/{stack}/stack.yaml"), stack_yaml(s));
        let count = per_stack.min(services - s * per_stack);
        for i in 0..count {
            let service = format!("svc-{i:02}");
            let base = format!("stacks/{stack}/services/{service}");
            write(
                format!("{base}/service.yaml"),
                format!(
                    "description: Service {i} of stack {s}.\nowner: team-{}@example.com\ntags:\n  product: p{}\n",
                    s % 7,
                    i % 5
                ),
            );
            let c = format!("{base}/components");
            // Every service: an API; most a queue; some a database, some a worker.
            write(format!("{c}/api/microservice.yaml"), api_yaml(i));
            write(format!("{c}/api/infra.yaml"), infra_yaml(i));
            if i % 3 == 0 {
                write(format!("{c}/api/configs/app.yaml"), config_yaml(i));
            }
            if i % 4 != 3 {
                write(format!("{c}/queue/sqs.yaml"), sqs_yaml(i));
            }
            if i % 2 == 0 {
                write(format!("{c}/database/rds.yaml"), rds_yaml(i));
            }
            if i % 4 == 1 {
                write(format!("{c}/worker/microservice.yaml"), worker_yaml(i));
            }
        }
    }
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path))
        } else {
            out.push(path)
        }
    }
    out
}

fn stack_yaml(s: usize) -> String {
    let mut text = format!(
        "description: Synthetic stack {s}.\nowner: platform@example.com\ntags:\n  cost-center: cc-{s:04}\nvariables:\n  VERSION:\n    required: true\n    pattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+$'\n  LOG_LEVEL:\n    default: info\nenvironments:\n"
    );
    for (e, name) in ["development", "staging", "production"].iter().enumerate() {
        let _ = write!(
            text,
            "  {name}:\n    account: \"{acct}\"\n    region: us-east-1\n{prod}    network:\n      vpc: vpc-{s:04x}{e:04x}00000000\n      private_subnets: [subnet-{s:04x}{e:04x}0000a001, subnet-{s:04x}{e:04x}0000a002]\n      public_subnets: [subnet-{s:04x}{e:04x}0000b001, subnet-{s:04x}{e:04x}0000b002]\n",
            acct = 111111111111u64 * (e as u64 + 1),
            prod = if *name == "production" {
                "    production: true\n"
            } else {
                ""
            },
        );
    }
    text
}

fn api_yaml(i: usize) -> String {
    let mut text = String::new();
    if i.is_multiple_of(2) {
        let _ = write!(
            text,
            "extends:\n  preset: shared/presets/web-api.yaml\n  with:\n    path: /svc-{i:02}/*\n"
        );
    } else {
        let _ = write!(
            text,
            "port: 8080\nexpose:\n  visibility: internal\n  paths: [\"/svc-{i:02}/*\"]\n"
        );
    }
    let _ = write!(
        text,
        "image: \"123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-{i:02}:{{{{ var.VERSION }}}}\"\nenv:\n  LOG_LEVEL: \"{{{{ var.LOG_LEVEL }}}}\"\n  FEATURE_{i}: \"on\"\nsecrets:\n  API_KEY: app/svc-{i:02}/api-key\n"
    );
    let mut uses = Vec::new();
    if i.is_multiple_of(2) {
        uses.push("database".to_string());
    }
    if i % 4 != 3 {
        uses.push("queue".to_string());
    }
    if !uses.is_empty() {
        let _ = writeln!(text, "uses: [{}]", uses.join(", "));
    }
    text.push_str("environments:\n  production:\n    env:\n      LOG_LEVEL: warn\n");
    text
}

fn infra_yaml(i: usize) -> String {
    format!(
        "cpu: 512\nmemory: 1024\nreplicas: {}\nautoscaling:\n  min: 1\n  max: 4\n  cpu_target: 60\nenvironments:\n  development:\n    cpu: 256\n    memory: 512\n    autoscaling: null\n  production:\n    autoscaling:\n      min: 2\n      max: 10\n",
        1 + i % 3
    )
}

fn config_yaml(i: usize) -> String {
    format!(
        "feature:\n  name: svc-{i}\n  bucket: \"data-{{{{ environment.name }}}}\"\nlimits:\n  rps: {}\nenvironments:\n  production:\n    limits:\n      rps: {}\n",
        100 + i,
        1000 + i
    )
}

fn sqs_yaml(i: usize) -> String {
    format!(
        "visibility_timeout_seconds: {}\nretention_days: 4\ndead_letter:\n  max_receives: 5\n",
        30 + i % 5 * 10
    )
}

fn rds_yaml(i: usize) -> String {
    format!(
        "extends: shared/presets/postgres.yaml\ndatabase: db{i}\nbackup_retention_days: 7\nenvironments:\n  production:\n    backup_retention_days: 30\n"
    )
}

fn worker_yaml(i: usize) -> String {
    format!(
        "extends: shared/presets/worker.yaml\nimage: \"123456789012.dkr.ecr.us-east-1.amazonaws.com/worker-{i:02}:{{{{ var.VERSION }}}}\"\nuses:\n  - component: queue\n    access: read\n"
    )
}
