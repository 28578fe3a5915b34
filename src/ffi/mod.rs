//! The C ABI. Embedding entry points come with the session.
