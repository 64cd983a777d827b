//! The library's error type. Commands return it; `cli` decides the exit code.

use crate::diagnostic::Diagnostic;

#[derive(Debug)]
pub enum Error {
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
        Error::Failed {
            message: message.into(),
            help: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(self, text: impl Into<String>) -> Error {
        match self {
            Error::Usage { message, .. } => Error::Usage {
                message,
                help: Some(text.into()),
            },
            Error::Failed { message, .. } => Error::Failed {
                message,
                help: Some(text.into()),
            },
            Error::Diagnostic(d) => Error::Diagnostic(Box::new(d.help(text))),
        }
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Error::Diagnostic(Box::new(d))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Diagnostic(d) => f.write_str(&d.message),
            Error::Usage { message, .. } | Error::Failed { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
