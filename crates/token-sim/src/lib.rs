//! Host simulator of token-app on pseudo-terminals
