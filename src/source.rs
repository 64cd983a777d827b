//! Source files and byte spans.
//!
//! Every value deployer reads can answer "where did this come from": nodes carry a
//! [`Span`] into a [`SourceFile`] held by [`Sources`]. Spans are byte offsets so they
//! can be handed straight to the snippet renderer; lines and columns are computed
//! only when a diagnostic is printed.

use std::path::PathBuf;

/// Index of a file inside [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range inside one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// An empty span at the start of a file, for errors about a file as a whole.
    pub fn file_start(file: FileId) -> Span {
        Span {
            file,
            start: 0,
            end: 0,
        }
    }
}

/// One loaded file: its path relative to the repository root and its text.
#[derive(Debug)]
pub struct SourceFile {
    /// Path shown to users, relative to the repository root, always with `/`.
    pub display: String,
    /// Absolute path on disk.
    pub path: PathBuf,
    /// Where it really is, when a link on its path leads elsewhere in the
    /// repository (the loader knows it from its checks: no `realpath`).
    pub real: Option<PathBuf>,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Hides the values of a file that may hold secrets (a `--var-file` of a
    /// stack with sensitive variables) from everything that shows it: each
    /// line keeps its key (up to the first `: `) and its layout, and every
    /// other character becomes `*` — as many bytes as it had, so spans and
    /// columns still point where they did. Its values were read before.
    pub fn mask_values(&mut self) {
        let mut masked = String::with_capacity(self.text.len());
        for line in self.text.split_inclusive('\n') {
            let keep = line
                .find(": ")
                .map(|i| i + 2)
                .or_else(|| line.trim_end().ends_with(':').then_some(line.len()))
                .unwrap_or(0);
            masked.push_str(&line[..keep]);
            for c in line[keep..].chars() {
                if c.is_whitespace() {
                    masked.push(c);
                } else {
                    masked.extend(std::iter::repeat_n('*', c.len_utf8()));
                }
            }
        }
        self.text = masked;
    }

    pub fn new(display: String, path: PathBuf, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            display,
            path,
            real: None,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The whole lines that hold the byte ranges `spans`: their text, where
    /// it starts in the file, and its first line's number (1-based). A
    /// snippet rendered from them costs their size, not the file's: a file
    /// with 10,000 problems is rendered in linear time.
    pub fn lines_around(&self, spans: &[std::ops::Range<usize>]) -> (&str, usize, usize) {
        let first = spans.iter().map(|s| s.start).min().unwrap_or(0);
        let last = spans.iter().map(|s| s.end).max().unwrap_or(0);
        let first_line = self
            .line_starts
            .partition_point(|&s| s <= first.min(self.text.len()))
            - 1;
        let start = self.line_starts[first_line];
        let last_line = self
            .line_starts
            .partition_point(|&s| s <= last.min(self.text.len()))
            - 1;
        let end = self
            .line_starts
            .get(last_line + 1)
            .copied()
            .unwrap_or(self.text.len());
        (&self.text[start..end], start, first_line + 1)
    }

    /// Byte offset of a 1-based line and 0-based character column, as the YAML
    /// scanner reports them. Clamped to the end of the file.
    pub fn offset_of(&self, line: usize, char_col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        match rest.char_indices().nth(char_col) {
            Some((i, _)) => start + i,
            None => self.text.len(),
        }
    }
}

/// All files read while compiling; diagnostics refer to them by [`FileId`].
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId((self.files.len() - 1) as u32)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// See [`SourceFile::mask_values`].
    pub fn mask_values(&mut self, id: FileId) {
        self.files[id.0 as usize].mask_values();
    }
}
