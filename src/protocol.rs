//! The names contend's engine and its reference server must agree on, kept apart from
//! both so that neither imports the other.
//!
//! Against the reference server (the built-in one, or `contend serve`), the engine tags
//! each raced write with [`REQUEST_ID_HEADER`]; the server stamps the instant that
//! request's last byte arrived, and `GET` [`ARRIVALS_PATH`]`?ids=a,b` hands the stamps
//! back as `{"arrivals": {"a": ns, ...}}` (nanoseconds on the server's clock), which the
//! engine records as each write's `arrival_ns`.

/// The request header that asks the reference server for an arrival stamp; its value is
/// the stamp's key.
pub const REQUEST_ID_HEADER: &str = "x-contend-request";

/// The reference server's route that hands arrival stamps back (query `ids`, comma
/// separated), relative to the server's root.
pub const ARRIVALS_PATH: &str = "/_contend/arrivals";
