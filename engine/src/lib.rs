//! The load engine (issue 3).
