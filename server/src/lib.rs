//! The `almanac` server.
