//! Folders of a revision read from git's objects into memory: one
//! `ls-tree`, then one `cat-file --batch` for every file. `affected` reads
//! its base this way; writing a revision's thousands of small files into a
//! checkout, and removing them again, cost a fifth of its time at 1,000
//! services (`tar` alone a ninth).

use super::run;
use crate::error::{Context, Error, Result};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// One folder's entries at a revision, when git can give all of them as
/// they would be checked out: regular files and folders only.
#[derive(Default)]
pub struct Folder {
    /// Each entry below the folder, relative to the repository, with what it
    /// is; a file with its bytes, as a checkout would have them.
    pub entries: Vec<(String, Entry)>,
}

pub enum Entry {
    Folder,
    File(Vec<u8>),
}

/// `folders` (relative to `repo_root`, no `/` at the end) at `revision`,
/// each read into memory, or `None` where git cannot say what a checkout
/// would hold without writing it (a symbolic link, a submodule), or where a
/// file is larger than `max_bytes`: those are checked out as files, and the
/// loader decides about them as it does in a work tree. A folder the revision
/// does not have is left out.
pub fn read_folders(
    repo_root: &Path,
    revision: &str,
    folders: &[String],
    max_bytes: u64,
) -> Result<BTreeMap<String, Option<Folder>>> {
    if folders.is_empty() {
        return Ok(BTreeMap::new());
    }
    // Each entry: `<mode> <type> <object> <size>\t<path>\0`, folders (`-t`)
    // before what they hold, paths relative to `repo_root`.
    let mut args = vec!["ls-tree", "-r", "-t", "-l", "-z", revision, "--"];
    args.extend(folders.iter().map(String::as_str));
    let listing = run(repo_root, &args)?;
    let mut read: BTreeMap<String, Option<Folder>> = BTreeMap::new();
    let asked: HashSet<&str> = folders.iter().map(String::as_str).collect();
    // Files to fetch: (folder, index of its entry, object, path).
    let mut wanted: Vec<(String, usize, String, String)> = Vec::new();
    for line in listing.split('\0').filter(|l| !l.is_empty()) {
        let Some((meta, path)) = line.split_once('\t') else {
            continue;
        };
        // The folder itself (`-t` lists it, and its parents) is there.
        if asked.contains(path) {
            read.entry(path.to_string())
                .or_insert_with(|| Some(Folder::default()));
            continue;
        }
        let Some(folder) = path
            .match_indices('/')
            .map(|(at, _)| &path[..at])
            .find(|above| asked.contains(above))
        else {
            continue;
        };
        let slot = read
            .entry(folder.to_string())
            .or_insert_with(|| Some(Folder::default()));
        let Some(listed) = slot else {
            continue;
        };
        let fields: Vec<&str> = meta.split(' ').filter(|f| !f.is_empty()).collect();
        // A name a checkout would refuse or change (`..`, `.git`, a newline,
        // bytes that are not UTF-8) is left to the checkout.
        let plain = !path.contains(['\n', char::REPLACEMENT_CHARACTER])
            && path
                .split('/')
                .all(|part| !matches!(part, "" | "." | ".." | ".git"));
        match fields.as_slice() {
            ["040000", "tree", ..] if plain => {
                listed.entries.push((path.to_string(), Entry::Folder))
            }
            [mode, "blob", object, size]
                if (*mode == "100644" || *mode == "100755")
                    && size.parse::<u64>().is_ok_and(|s| s <= max_bytes)
                    && plain =>
            {
                wanted.push((
                    folder.to_string(),
                    listed.entries.len(),
                    object.to_string(),
                    path.to_string(),
                ));
                listed
                    .entries
                    .push((path.to_string(), Entry::File(Vec::new())));
            }
            // A link, a submodule, a large file or a name git could not
            // give as UTF-8: checked out instead.
            _ => *slot = None,
        }
    }
    let wanted: Vec<_> = wanted
        .into_iter()
        .filter(|(folder, ..)| read.get(folder).is_some_and(Option::is_some))
        .collect();
    let prefix = run(repo_root, &["rev-parse", "--show-prefix"])?;
    let prefix = prefix.trim_end_matches('\n');
    let contents = cat_files(
        repo_root,
        wanted
            .iter()
            .map(|(_, _, object, path)| format!("{object} {prefix}{path}\n")),
    )?;
    for ((folder, index, ..), bytes) in wanted.into_iter().zip(contents) {
        let slot = read.get_mut(&folder).expect("listed above");
        // A filter (a smudge, an end-of-line conversion) may have made it
        // larger than the bound.
        if bytes.len() as u64 > max_bytes {
            *slot = None;
        }
        if let Some(listed) = slot {
            listed.entries[index].1 = Entry::File(bytes);
        }
    }
    Ok(read)
}

/// Each object of `requests` (`<object> <path>\n`, the path from the top of
/// the work tree) as a checkout would write it: `--filters` applies the
/// same smudge filters and end-of-line conversion as `git archive` did.
fn cat_files(repo_root: &Path, requests: impl Iterator<Item = String>) -> Result<Vec<Vec<u8>>> {
    let mut cat = Command::new("git")
        .arg("-C")
        .arg(repo_root)
        .args(["cat-file", "--batch", "--filters"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context(|| "cannot run git cat-file".to_string())?;
    let _reading = crate::interrupt::OnExit::kill_child(&cat);
    let mut stdin = cat.stdin.take().expect("piped");
    let requests: String = requests.collect();
    let count = requests.lines().count();
    // Written on a thread: git answers while it reads, and a pipe holds
    // less than all the questions and all the answers.
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let mut out = BufReader::new(cat.stdout.take().expect("piped"));
    let mut contents = Vec::with_capacity(count);
    let mut header = String::new();
    for _ in 0..count {
        header.clear();
        out.read_line(&mut header)
            .context(|| "cannot read from git cat-file".to_string())?;
        // `<object> blob <size>`, or `<object> missing`.
        let size = match header.trim_end().rsplit_once(' ') {
            Some((object, size)) if object.ends_with(" blob") => size.parse::<usize>().ok(),
            _ => None,
        };
        let Some(size) = size else {
            return Err(Error::failed(match header.is_empty() {
                true => "git cat-file stopped before giving every file".to_string(),
                false => format!("git cat-file answered `{}`", header.trim_end()),
            }));
        };
        let mut bytes = vec![0; size + 1];
        out.read_exact(&mut bytes)
            .context(|| "cannot read from git cat-file".to_string())?;
        // Each object's bytes end with a newline of git's.
        bytes.pop();
        contents.push(bytes);
    }
    drop(out);
    let _ = writer.join();
    cat.wait().context(|| "git cat-file failed".to_string())?;
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    /// What a checkout would hold, or `None` where only a checkout can say.
    #[test]
    fn folders_come_with_their_files_unless_a_checkout_must_write_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("stacks/plain/stack.yaml", "owner: a\n");
        write("stacks/plain/services/api/service.yaml", "{}\n");
        write("stacks/large/stack.yaml", &"x".repeat(100));
        write("stacks/linked/stack.yaml", "owner: b\n");
        std::os::unix::fs::symlink("stack.yaml", root.join("stacks/linked/copy.yaml")).unwrap();
        git(root, &["init", "-q"]);
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "base"]);
        // Changed in the work tree: the revision's bytes are read.
        write("stacks/plain/stack.yaml", "owner: changed\n");

        let asked: Vec<String> = ["plain", "large", "linked", "absent"]
            .iter()
            .map(|s| format!("stacks/{s}"))
            .collect();
        let read = read_folders(root, "HEAD", &asked, 99).unwrap();
        assert_eq!(
            read.keys().collect::<Vec<_>>(),
            ["stacks/large", "stacks/linked", "stacks/plain"],
            "a folder the revision does not have is left out"
        );
        assert!(read["stacks/large"].is_none(), "a file over the bound");
        assert!(read["stacks/linked"].is_none(), "a link");
        let plain = read["stacks/plain"].as_ref().unwrap();
        let listed: Vec<(&str, Option<&[u8]>)> = plain
            .entries
            .iter()
            .map(|(path, entry)| match entry {
                Entry::Folder => (path.as_str(), None),
                Entry::File(bytes) => (path.as_str(), Some(bytes.as_slice())),
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("stacks/plain/services", None),
                ("stacks/plain/services/api", None),
                ("stacks/plain/services/api/service.yaml", Some(&b"{}\n"[..])),
                ("stacks/plain/stack.yaml", Some(&b"owner: a\n"[..])),
            ]
        );
    }
}
