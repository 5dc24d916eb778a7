//! Host side of the token protocol over a serial port.
