//! What can go wrong while standing up or driving a local consortium.

/// A failure of the harness or of the system it drives, with enough context to act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A process could not be spawned, or a file read or written.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A `healthledger` command exited with an error.
    #[error("`healthledger {args}` failed ({status}): {stderr}")]
    Cli {
        args: String,
        status: String,
        stderr: String,
    },
    /// An HTTP exchange failed or answered something else than expected.
    #[error("{what}: {detail}")]
    Http { what: String, detail: String },
    /// A JSON-RPC call to the chain failed.
    #[error("chain: {0}")]
    Chain(String),
    /// Something did not happen in time; `detail` says what was last seen.
    #[error("{what} did not happen within {secs} s; {detail}")]
    Timeout {
        what: String,
        secs: u64,
        detail: String,
    },
    /// A node process did not start or stopped.
    #[error("node {node}: {detail}")]
    Node { node: String, detail: String },
    /// An answer was not what the protocol promises.
    #[error("{0}")]
    Unexpected(String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn unexpected(what: impl Into<String>) -> Self {
        Self::Unexpected(what.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// For callers that report failures as text (the demo).
impl From<Error> for String {
    fn from(e: Error) -> String {
        e.to_string()
    }
}
