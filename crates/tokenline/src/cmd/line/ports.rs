//! `tokenline line ports`: which serial port is which station. Lists the serial ports the
//! system knows (serialport's `available_ports`: /sys/class/tty on Linux) with their USB
//! vendor/product id and serial number; `--probe` asks each (and every `--port` given, e.g.
//! a simulator's pseudo-terminal) for Identify and says whether a token answers.
//!
//! `--json`: one object per port on stdout,
//! `{"port":"/dev/ttyUSB0","kind":"usb","vid":"0403","pid":"6001","usb_serial":"A10K3X","manufacturer":"FTDI","product":"FT232R","token":{"hardware_id":"…","state":"blank","serial":null}}`
//! (`token` only with `--probe`: `null` when nothing answers, or `{"error":"…"}` when the port
//! cannot be opened).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serialport::SerialPortType;
use token_link::{LinkError, LinkOptions, TokenLink};
use token_proto::State;

/// List serial ports (USB vendor/product id, serial number); --probe asks each for a token.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// Ask every port for Identify and show the token that answers, if any.
    #[arg(long)]
    probe: bool,
    /// Also list (and probe) this port, e.g. a simulator's pseudo-terminal; repeatable.
    #[arg(long = "port")]
    ports: Vec<PathBuf>,
    /// Milliseconds to wait for a token's answer with --probe.
    #[arg(long, default_value_t = 500)]
    timeout_ms: u64,
    /// One JSON object per port on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct PortJson {
    port: String,
    kind: &'static str,
    vid: Option<String>,
    pid: Option<String>,
    usb_serial: Option<String>,
    manufacturer: Option<String>,
    product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<serde_json::Value>,
}

impl PortJson {
    fn new(port: String, kind: &'static str) -> PortJson {
        PortJson {
            port,
            kind,
            vid: None,
            pid: None,
            usb_serial: None,
            manufacturer: None,
            product: None,
            token: None,
        }
    }
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let mut rows: Vec<PortJson> = serialport::available_ports()
            .map_err(|e| anyhow::anyhow!("cannot list the serial ports: {e}"))?
            .into_iter()
            .map(row)
            .collect();
        for p in &self.ports {
            rows.push(PortJson::new(p.display().to_string(), "given"));
        }
        if self.probe {
            let opts = LinkOptions {
                timeout: Duration::from_millis(self.timeout_ms),
                first_timeout: Duration::from_millis(self.timeout_ms.max(2000)),
                retries: 1,
                ..LinkOptions::default()
            };
            for row in &mut rows {
                row.token = Some(probe(Path::new(&row.port), opts));
            }
        }
        if self.json {
            for r in &rows {
                println!("{}", serde_json::to_string(r)?);
            }
            return Ok(());
        }
        if rows.is_empty() {
            eprintln!("no serial port found: plug in a station's USB serial adapter (or pass --port PATH)");
            return Ok(());
        }
        for r in &rows {
            println!("{}", text(r));
        }
        Ok(())
    }
}

/// The row of a port the OS lists: its kind, and for a USB adapter its vendor/product id
/// (4 hex digits), serial number, manufacturer and product.
fn row(p: serialport::SerialPortInfo) -> PortJson {
    let mut row = PortJson::new(p.port_name, "other");
    match p.port_type {
        SerialPortType::UsbPort(u) => {
            row.kind = "usb";
            row.vid = Some(format!("{:04x}", u.vid));
            row.pid = Some(format!("{:04x}", u.pid));
            row.usb_serial = u.serial_number;
            row.manufacturer = u.manufacturer;
            row.product = u.product;
        }
        SerialPortType::PciPort => row.kind = "pci",
        SerialPortType::BluetoothPort => row.kind = "bluetooth",
        SerialPortType::Unknown => row.kind = "other",
    }
    row
}

/// The human line of a port row.
fn text(r: &PortJson) -> String {
    let usb = match (&r.vid, &r.pid) {
        (Some(v), Some(p)) => format!(
            " USB {v}:{p} serial {} {} {}",
            r.usb_serial.as_deref().unwrap_or("-"),
            r.manufacturer.as_deref().unwrap_or(""),
            r.product.as_deref().unwrap_or("")
        ),
        _ => String::new(),
    };
    let token = match &r.token {
        None => String::new(),
        Some(serde_json::Value::Null) => ": no token answers".into(),
        Some(v) if v.get("error").is_some() => {
            format!(": {}", v["error"].as_str().unwrap_or(""))
        }
        Some(v) => format!(
            ": token {} {}{}",
            v["hardware_id"].as_str().unwrap_or("?"),
            v["state"].as_str().unwrap_or("?"),
            v["serial"]
                .as_str()
                .map(|s| format!(" serial {s}"))
                .unwrap_or_default()
        ),
    };
    format!("{} ({}){usb}{token}", r.port, r.kind)
}

/// Identify on `port`: the token's id, state and serial; `null` when none answers.
fn probe(port: &Path, opts: LinkOptions) -> serde_json::Value {
    let mut link = match open_link(port, opts) {
        Ok(l) => l,
        Err(e) => return serde_json::json!({ "error": format!("{e:#}") }),
    };
    match link.identify() {
        Ok(info) => serde_json::json!({
            "hardware_id": info.hardware_id.to_string(),
            "state": match info.state {
                State::Blank => "blank",
                State::Provisioned => "provisioned",
                State::Locked => "locked",
            },
            "serial": info.credential.map(|c| c.serial.to_string()),
        }),
        Err(LinkError::Timeout { .. }) => serde_json::Value::Null,
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    }
}

/// Opens a station's port; a path that is not a serial port (a file, /dev/null) is named as
/// such instead of the system's "Inappropriate ioctl" / "Not a typewriter".
pub fn open_link(port: &Path, opts: LinkOptions) -> anyhow::Result<TokenLink> {
    match TokenLink::open(port, opts) {
        Ok(l) => Ok(l),
        Err(e @ (LinkError::Io { .. } | LinkError::PortBusy(_))) => {
            let is_tty = std::fs::File::open(port).map(|f| f.is_terminal());
            if matches!(is_tty, Ok(false)) {
                anyhow::bail!(
                    "{} is not a serial port (a station's port is a tty such as /dev/ttyUSB0; `tokenline line ports` lists them)",
                    port.display()
                )
            }
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serialport::{SerialPortInfo, UsbPortInfo};

    /// An FTDI adapter as the OS lists it.
    fn ftdi() -> SerialPortInfo {
        SerialPortInfo {
            port_name: "/dev/ttyUSB0".into(),
            port_type: SerialPortType::UsbPort(UsbPortInfo {
                vid: 0x0403,
                pid: 0x6001,
                serial_number: Some("A10K3X".into()),
                manufacturer: Some("FTDI".into()),
                product: Some("FT232R".into()),
            }),
        }
    }

    #[test]
    fn a_usb_adapter_is_listed_with_vendor_product_id_and_serial_number() {
        let r = row(ftdi());
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"port":"/dev/ttyUSB0","kind":"usb","vid":"0403","pid":"6001","usb_serial":"A10K3X","manufacturer":"FTDI","product":"FT232R"}"#
        );
        assert_eq!(
            text(&r),
            "/dev/ttyUSB0 (usb) USB 0403:6001 serial A10K3X FTDI FT232R"
        );
    }

    #[test]
    fn a_probed_port_says_whether_a_token_answers() {
        let mut r = row(ftdi());
        r.token = Some(serde_json::Value::Null);
        assert!(text(&r).ends_with(": no token answers"), "{}", text(&r));
        r.token =
            Some(serde_json::json!({"hardware_id":"00aa","state":"locked","serial":"10000001"}));
        assert!(
            text(&r).ends_with(": token 00aa locked serial 10000001"),
            "{}",
            text(&r)
        );
    }
}
