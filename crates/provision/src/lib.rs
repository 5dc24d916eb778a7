//! Factory line: stations, batch journal, serial allocation
