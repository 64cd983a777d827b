//! The library's error type (as minijinja's): one [`Error`] with a kind, a
//! message and a help, and the error that caused it as its `source()`, so
//! that `--verbose` can print the whole chain. Commands return it; `cli`
//! decides the exit code from the kind.
//!
//! A message says what failed where and already quotes its direct cause
//! (`cannot read x.yaml: permission denied`); the chain keeps the causes'
//! own causes, which a message flattens away. [`Context::context`] does both.

use crate::diagnostic::Diagnostic;
use std::error::Error as StdError;

type Source = Box<dyn StdError + Send + Sync + 'static>;

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Source>,
}

/// What kind of failure, and so the exit code.
#[derive(Debug)]
pub enum ErrorKind {
    /// One problem, as a diagnostic (usually without a span: a path, a flag).
    Diagnostic(Box<Diagnostic>),
    /// The command line asks for something that cannot be done (exit code 2).
    Usage {
        message: String,
        help: Option<String>,
    },
    /// Anything else: what failed, and what to do about it.
    Failed {
        message: String,
        help: Option<String>,
    },
}

impl Error {
    pub fn failed(message: impl Into<String>) -> Error {
        ErrorKind::Failed {
            message: message.into(),
            help: None,
        }
        .into()
    }

    pub fn usage(message: impl Into<String>) -> Error {
        ErrorKind::Usage {
            message: message.into(),
            help: None,
        }
        .into()
    }

    pub fn with_help(mut self, text: impl Into<String>) -> Error {
        self.kind = match self.kind {
            ErrorKind::Usage { message, .. } => ErrorKind::Usage {
                message,
                help: Some(text.into()),
            },
            ErrorKind::Failed { message, .. } => ErrorKind::Failed {
                message,
                help: Some(text.into()),
            },
            ErrorKind::Diagnostic(d) => ErrorKind::Diagnostic(Box::new(d.help(text))),
        };
        self
    }

    /// The error that caused this one.
    pub fn with_source(mut self, source: impl Into<Source>) -> Error {
        self.source = Some(source.into());
        self
    }

    /// The first error of type `T` in the chain of causes.
    pub fn find_cause<T: StdError + 'static>(&self) -> Option<&T> {
        let mut next = StdError::source(self);
        while let Some(cause) = next {
            if let Some(found) = cause.downcast_ref::<T>() {
                return Some(found);
            }
            next = cause.source();
        }
        None
    }

    /// The cause as it reads now, for a cause that cannot be kept (borrowed,
    /// or not `Send`): its message and its chain's, as text.
    pub fn with_cause_of(self, cause: &(dyn StdError + 'static)) -> Error {
        self.with_source(Snapshot::of(cause))
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub fn help(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Diagnostic(d) => d.help.as_deref(),
            ErrorKind::Usage { help, .. } | ErrorKind::Failed { help, .. } => help.as_deref(),
        }
    }

    /// Every cause below this error, nearest first, leaving out those the
    /// message (or a nearer cause's) already quotes word for word.
    pub fn causes(&self) -> Vec<String> {
        let mut said = self.to_string();
        let mut out = Vec::new();
        let mut next = StdError::source(self);
        while let Some(cause) = next {
            let text = cause.to_string();
            if !text.is_empty() && !said.contains(&text) {
                said.push('\n');
                said.push_str(&text);
                out.push(text);
            }
            next = cause.source();
        }
        out
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error { kind, source: None }
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        ErrorKind::Diagnostic(Box::new(d)).into()
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ErrorKind::Diagnostic(d) => f.write_str(&d.message),
            ErrorKind::Usage { message, .. } | ErrorKind::Failed { message, .. } => {
                f.write_str(message)
            }
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// A cause's message and chain, kept as text.
#[derive(Debug)]
struct Snapshot {
    message: String,
    source: Option<Box<Snapshot>>,
}

impl Snapshot {
    fn of(cause: &(dyn StdError + 'static)) -> Snapshot {
        Snapshot {
            message: cause.to_string(),
            source: cause.source().map(|s| Box::new(Snapshot::of(s))),
        }
    }
}

impl std::fmt::Display for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Snapshot {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// `result.context(|| format!("cannot read {path}"))`: a failure saying what
/// failed, then `: ` and the cause, which it keeps as its source.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: StdError + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::failed(format!("{}: {e}", what())).with_source(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Io(Option<Box<Io>>, &'static str);
    impl std::fmt::Display for Io {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
    }
    impl StdError for Io {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.0.as_deref().map(|s| s as _)
        }
    }

    #[test]
    fn context_keeps_the_message_and_the_chain_below_it() {
        let failed: std::result::Result<(), Io> = Err(Io(
            Some(Box::new(Io(None, "connection refused (os error 111)"))),
            "dispatch failure",
        ));
        let err = failed
            .context(|| "cannot reach S3".to_string())
            .unwrap_err();
        assert_eq!(err.to_string(), "cannot reach S3: dispatch failure");
        // The direct cause is in the message; only what it flattened is added.
        assert_eq!(err.causes(), ["connection refused (os error 111)"]);
        let snapshot = Error::failed("x").with_cause_of(&Io(None, "gone"));
        assert_eq!(snapshot.causes(), ["gone"]);
    }
}
