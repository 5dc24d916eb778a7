//! Every message between host and token: framing, CRC, errors (no_std)
