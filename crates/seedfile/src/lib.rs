//! Encrypted seed files and PSKC (RFC 6030)
