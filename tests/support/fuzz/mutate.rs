//! The damage done to a copy of the example: each class of hostile input
//! issues 14 and 27 list, aimed at the files deployer reads (YAML and
//! templates), and sometimes several at once.

use fastrand::Rng;
use std::path::{Path, PathBuf};

type Applied = Vec<(&'static str, String)>;

/// Damages the repository in `dir`; returns what was done.
pub fn mutate(rng: &mut Rng, dir: &Path) -> Applied {
    let mut applied = Vec::new();
    let count = if rng.u8(0..4) == 0 {
        rng.usize(2..=4)
    } else {
        1
    };
    for _ in 0..count {
        let files = files(dir);
        if files.is_empty() {
            break;
        }
        let file = files[rng.usize(0..files.len())].clone();
        let name = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        let done = match rng.u8(0..17) {
            15 => unknown_keys(rng, &file),
            16 => fifo_include(dir, &file),
            0 => byte_flips(rng, &file),
            1 => type_swap(rng, &file),
            2 => huge_string(rng, &file),
            3 => deep_block(rng, &file),
            4 => deep_flow(rng, &file),
            5 => alias_bomb(rng, &file),
            6 => invalid_utf8(rng, &file),
            7 => link(rng, &file, dir),
            8 => fifo(&file),
            9 => template_abuse(rng, &file),
            10 => truncate_or_delete(rng, &file),
            11 => duplicate_line(rng, &file),
            12 => many_files(rng, &file),
            13 => odd_bytes(rng, &file),
            _ => extreme_scalar(rng, &file),
        };
        applied.push((done.0, format!("{name}: {}", done.1)));
    }
    applied
}

/// YAML and template files deployer reads, outside `.git`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if entry.file_name() == ".git" || kind.is_symlink() {
                continue;
            }
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "j2") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read(file: &Path) -> Vec<u8> {
    std::fs::read(file).unwrap_or_default()
}

fn write(file: &Path, bytes: &[u8]) {
    let _ = std::fs::write(file, bytes);
}

fn text(file: &Path) -> String {
    String::from_utf8_lossy(&read(file)).into_owned()
}

/// Lines of the form `  key: value` with a scalar value.
fn scalar_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            !t.starts_with('#')
                && t.split_once(": ")
                    .is_some_and(|(_, v)| !v.trim().is_empty())
        })
        .map(|(i, _)| i)
        .collect()
}

fn replace_value(rng: &mut Rng, file: &Path, value: &str) -> bool {
    let text = text(file);
    let lines = scalar_lines(&text);
    if lines.is_empty() {
        return false;
    }
    let target = lines[rng.usize(0..lines.len())];
    let out: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == target {
                let (key, _) = l.split_once(": ").unwrap();
                format!("{key}: {value}")
            } else {
                l.to_string()
            }
        })
        .collect();
    write(file, out.join("\n").as_bytes());
    true
}

fn byte_flips(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    let mut bytes = read(file);
    let n = rng.usize(1..=8);
    for _ in 0..n {
        if !bytes.is_empty() {
            let i = rng.usize(0..bytes.len());
            bytes[i] ^= 1 << rng.u8(0..8);
        }
    }
    write(file, &bytes);
    ("byte-flip", format!("{n} bits"))
}

fn type_swap(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    const VALUES: &[&str] = &[
        "[]",
        "{}",
        "[1, [2, {a: b}]]",
        "{x: [y]}",
        "123456789012345678901234567890",
        "-0",
        "1e400",
        ".nan",
        "true",
        "null",
        "~",
        "\"",
        "'",
        "!!binary aGVsbG8=",
        "*nope",
        "&a [*a]",
        "!custom x",
        "|\n  block",
        "? complex\n  : key",
        "- item",
        "0x7fffffffffffffff",
        "2026-11-27T00:00:00Z",
        "\"\\u0000\"",
        "{{",
        "}}",
    ];
    let value = VALUES[rng.usize(0..VALUES.len())];
    replace_value(rng, file, value);
    ("type-swap", value.replace('\n', "\\n"))
}

fn huge_string(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    let len = [100_000, 1_000_000, 3_000_000, 6_000_000][rng.usize(0..4)];
    let value = format!("\"{}\"", "x".repeat(len));
    replace_value(rng, file, &value);
    ("huge-string", format!("{len} bytes"))
}

fn deep_block(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    let depth = [50, 101, 1_000, 10_000, 30_000][rng.usize(0..5)];
    let mut text = text(file);
    text.push_str("\nfuzz:\n");
    for level in 1..depth {
        text.push_str(&" ".repeat(level));
        text.push_str("k:\n");
    }
    text.push_str(&" ".repeat(depth));
    text.push_str("v\n");
    write(file, text.as_bytes());
    ("deep-block", format!("{depth} levels"))
}

fn deep_flow(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    let depth = [50, 101, 1_000, 100_000][rng.usize(0..4)];
    let open = if rng.bool() { "[" } else { "{a: " };
    let close = if open == "[" { "]" } else { "}" };
    let mut text = text(file);
    text.push_str(&format!(
        "\nfuzz: {}1{}\n",
        open.repeat(depth),
        close.repeat(depth)
    ));
    write(file, text.as_bytes());
    ("deep-flow", format!("{depth} levels"))
}

fn alias_bomb(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    let mut text = text(file);
    if rng.bool() {
        // The billion laughs.
        text.push_str("\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        write(file, text.as_bytes());
        ("alias-bomb", "10^10 nodes".into())
    } else {
        // Few nodes, many bytes: one big anchored string reused.
        let reuse = [1_000, 20_000][rng.usize(0..2)];
        text.push_str(&format!(
            "\nbig: &big \"{}\"\nuses: [{}]\n",
            "y".repeat(100_000),
            vec!["*big"; reuse].join(", ")
        ));
        write(file, text.as_bytes());
        ("alias-bytes", format!("100 KB x {reuse}"))
    }
}

fn invalid_utf8(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    let mut bytes = read(file);
    let bad: &[&[u8]] = &[
        b"\xff\xfe",
        b"\xc3\x28",
        b"\xe2\x82",
        b"\xf0\x9f\x98",
        b"\xed\xa0\x80",
    ];
    let chosen = bad[rng.usize(0..bad.len())];
    let at = rng.usize(0..=bytes.len());
    bytes.splice(at..at, chosen.iter().copied());
    write(file, &bytes);
    ("invalid-utf8", format!("{chosen:x?} at {at}"))
}

fn link(rng: &mut Rng, file: &Path, dir: &Path) -> (&'static str, String) {
    let targets = [
        "/dev/zero",
        "/dev/urandom",
        "/etc/passwd",
        ".",
        "..",
        "../../../../../..",
        "/proc/self/fd/0",
        "missing",
    ];
    let target = targets[rng.usize(0..targets.len())];
    // Replace the file itself, or plant a link to a folder beside it (a loop).
    let (path, what) = if rng.bool() {
        let _ = std::fs::remove_file(file);
        (file.to_path_buf(), "file")
    } else {
        let parent = file.parent().unwrap_or(dir);
        (parent.join(format!("loop{}", rng.u8(0..9))), "beside")
    };
    let _ = std::os::unix::fs::symlink(target, &path);
    ("link", format!("{what} -> {target}"))
}

fn fifo(file: &Path) -> (&'static str, String) {
    let _ = std::fs::remove_file(file);
    let path = std::ffi::CString::new(file.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::mkfifo(path.as_ptr(), 0o644) };
    ("fifo", "replaces the file".into())
}

fn template_abuse(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    const TEMPLATES: &[&str] = &[
        "{{ range(100000000) | list | length }}",
        "{% set ns = namespace(x=[1]) %}{% for i in range(40) %}{% set ns.x = ns.x + ns.x %}{% endfor %}{{ ns.x | length }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "{{ 'x' * 1000000000 }}",
        "{% for i in range(10000000) %}{% for j in range(10000000) %}{% endfor %}{% endfor %}",
        "{% include '/etc/passwd' %}",
        "{% include '../../../../../../etc/passwd' %}",
        "{% import 'nope.j2' as n %}",
        "{{ var.NOPE.deeper }}",
        "{{ ref('nowhere.url') }}",
        "{% raw %}{{ unclosed",
        "{{ (1, 2) | map('abs') | list }}",
        "{{ 10 ** 1000 }}",
        "{{ [1] * 100000000 }}",
    ];
    let template = TEMPLATES[rng.usize(0..TEMPLATES.len())];
    let value = format!("\"{}\"", template.replace('"', "\\\""));
    let is_template = file.extension().is_some_and(|e| e == "j2");
    if is_template {
        let mut text = text(file);
        text.push_str(template);
        write(file, text.as_bytes());
    } else {
        replace_value(rng, file, &value);
    }
    ("template-abuse", template.into())
}

fn truncate_or_delete(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    if rng.u8(0..3) == 0 {
        let _ = std::fs::remove_file(file);
        return ("delete", String::new());
    }
    let mut bytes = read(file);
    let at = rng.usize(0..=bytes.len());
    bytes.truncate(at);
    write(file, &bytes);
    ("truncate", format!("at {at}"))
}

fn duplicate_line(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    let text = text(file);
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return ("duplicate-line", "empty file".into());
    }
    let i = rng.usize(0..lines.len());
    let mut out = lines.clone();
    out.insert(i, lines[i]);
    write(file, out.join("\n").as_bytes());
    ("duplicate-line", format!("line {}", i + 1))
}

fn many_files(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    let n = [2_000, 12_000][rng.usize(0..2)];
    let dir = file.parent().unwrap().join("configs");
    let _ = std::fs::create_dir_all(&dir);
    for i in 0..n {
        let _ = std::fs::write(dir.join(format!("c{i}.yaml")), format!("k{i}: {i}\n"));
    }
    ("many-files", format!("{n} configs"))
}

fn odd_bytes(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    let bytes = read(file);
    let (what, out): (&str, Vec<u8>) = match rng.u8(0..4) {
        0 => ("BOM", [b"\xef\xbb\xbf".as_slice(), &bytes].concat()),
        1 => {
            let at = rng.usize(0..=bytes.len());
            let mut b = bytes.clone();
            b.insert(at, 0);
            ("NUL", b)
        }
        2 => (
            "CRLF",
            String::from_utf8_lossy(&bytes)
                .replace('\n', "\r\n")
                .into_bytes(),
        ),
        _ => (
            "tabs",
            String::from_utf8_lossy(&bytes)
                .replace("  ", "\t")
                .into_bytes(),
        ),
    };
    write(file, &out);
    ("odd-bytes", what.into())
}

fn extreme_scalar(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    const VALUES: &[&str] = &[
        "-1",
        "0",
        "4294967296",
        "-9223372036854775809",
        "1e-400",
        "999999999999",
        "\"../../../etc\"",
        "\"a/../../b\"",
        "\"$${x}\"",
        "\"${aws:x}\"",
        "\"fn::secret\"",
        "\"ünïcödé-名前\"",
        "\"\u{202e}rtl\"",
        "\"a\\nb\"",
        "\"\"",
        "\" \"",
    ];
    let value = VALUES[rng.usize(0..VALUES.len())];
    replace_value(rng, file, value);
    ("extreme-scalar", value.into())
}

/// Thousands of keys no schema knows (found quadratic: 40,000 took 190 s).
fn unknown_keys(rng: &mut Rng, file: &Path) -> (&'static str, String) {
    let count = rng.usize(2_000..=10_000);
    let mut text = text(file);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    for i in 0..count {
        text.push_str(&format!("fuzz_unknown_{i}: {i}\n"));
    }
    write(file, text.as_bytes());
    ("unknown-keys", format!("{count} keys"))
}

/// A FIFO in `shared/macros/`, included by a template of the file (a render
/// that read it would wait for a writer forever).
fn fifo_include(dir: &Path, file: &Path) -> (&'static str, String) {
    let pipe = dir.join("shared/macros/fuzz-pipe.j2");
    let path = std::ffi::CString::new(pipe.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::mkfifo(path.as_ptr(), 0o644) };
    let mut text = text(file);
    text = text.replacen(": ", ": \"{% include 'macros/fuzz-pipe.j2' %}\" # ", 1);
    write(file, text.as_bytes());
    ("fifo-include", "a FIFO included from shared/macros".into())
}
