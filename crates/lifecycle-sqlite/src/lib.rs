//! lifecycle storage on SQLite
