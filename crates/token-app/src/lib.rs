//! The token's logic over a Platform trait (no_std)
