//! New Relic output (being written).
