//! The one error type of the services. Each variant's text is the one line the user sees
//! (`zen: <what happened>. <what to do>`); only the RPC edge turns it into that line.

/// Why a request could not be done.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request came before the handshake.
    #[error("zen: the backend was not initialised (no hello). Restart Neovim.")]
    NotReady,
    /// The session was removed while the request ran (killed here or in another editor).
    #[error("zen: the session is gone.")]
    Gone,
    /// No session has this id or name.
    #[error("zen: no session called '{0}'. :ZenList shows them.")]
    NoSuchSession(String),
    /// The buffer shows no session, and none was named.
    #[error("zen: no session here. Give a name, or run it in a chat buffer.")]
    NoneHere,
    /// A chat buffer whose session no longer exists.
    #[error("zen: this chat's session no longer exists (killed?). Start a new one with :ZenNew openrouter.")]
    Killed,
    /// The session's turn is running.
    #[error("zen: {0} is still answering. Stop it first with :ZenStop.")]
    Busy(String),
    /// Neovim did not answer as expected (the buffer went away, a call failed).
    #[error("zen: {0:#}.")]
    Neovim(anyhow::Error),
    /// A file or directory could not be used: what we were doing, and why.
    #[error("zen: {doing}: {source:#}.")]
    Io {
        doing: String,
        source: anyhow::Error,
    },
    /// A reference (`@file`, `#buffer`...) that cannot be sent.
    #[error(transparent)]
    Reference(#[from] crate::refs::RefError),
    /// A model id that is not one.
    #[error(transparent)]
    ModelId(#[from] crate::data::model_id::Refused),
    /// A session name that is not allowed.
    #[error(transparent)]
    Name(#[from] crate::data::session::NameError),
    /// A refusal worded where it was found (an argument, a reference, a limit, an agent's
    /// tool): the text after `zen: `.
    #[error("zen: {0}")]
    Refused(String),
}

impl Error {
    /// A refusal; `text` may come with or without the `zen: ` prefix.
    pub fn refused(text: impl Into<String>) -> Error {
        let text = text.into();
        Error::Refused(match text.strip_prefix("zen: ") {
            Some(rest) => rest.to_string(),
            None => text,
        })
    }

    /// Wraps a failed file operation with what was being done.
    pub fn io(doing: impl Into<String>, source: impl Into<anyhow::Error>) -> Error {
        Error::Io {
            doing: doing.into(),
            source: source.into(),
        }
    }
}

/// What services return.
pub type Result<T, E = Error> = std::result::Result<T, E>;
