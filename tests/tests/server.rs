//! The real server's connection limits and TLS, over real sockets: a client that sends its
//! headers a byte at a time is cut off, idle connections neither last nor starve the
//! others, and with a certificate configured the server speaks only TLS and picks up a
//! renewed certificate without a restart.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;
use support::sextant;

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sextant serve --dev` in `dir` with `config` as its sextant.toml.
fn serve(dir: &Path, config: &str) -> Server {
    std::fs::write(dir.join("sextant.toml"), config).unwrap();
    let mut child = sextant()
        .args([
            "serve",
            "--dev",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            "data",
        ])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit("://").next().unwrap().to_owned();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "unexpected first line: {line}"
    );
    Server { child, addr }
}

/// One plain HTTP/1.1 request; the status line (empty when the server closed at once, as
/// it does over its connection cap).
fn status_line(addr: &str, path: &str) -> String {
    let Ok(mut tcp) = TcpStream::connect(addr) else {
        return String::new();
    };
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    if write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return String::new();
    }
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

const LIMITS: &str = "[limits]\nheader_read_timeout_secs = 2\nmax_connections = 32\n";

#[test]
fn slow_and_idle_clients_are_cut_off() {
    let work = tempfile::tempdir().unwrap();
    let server = serve(work.path(), LIMITS);
    assert_eq!(status_line(&server.addr, "/healthz"), "HTTP/1.1 200 OK");

    // A byte every half second: the headers never finish within 2 s.
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    let mut cut_off = None;
    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if slow.write_all(&[*byte]).is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 256];
        match slow.read(&mut buf) {
            Ok(_) => {
                // 0 (closed) or a 408 answer: either way the server has given up.
                cut_off = Some(started.elapsed());
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => {
                cut_off = Some(started.elapsed());
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    let cut_off = cut_off.expect("the slow client was never cut off");
    assert!(
        cut_off < Duration::from_secs(6),
        "cut off after {cut_off:?}"
    );

    // More idle connections than the cap: connections over the cap are closed at once, the
    // idle ones after the header timeout, and then the server answers again.
    let idle: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect(&server.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let mut healthy = false;
    while started.elapsed() < Duration::from_secs(8) {
        if status_line(&server.addr, "/healthz") == "HTTP/1.1 200 OK" {
            healthy = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        healthy,
        "/healthz answers again once the idle connections timed out"
    );
    std::thread::sleep(Duration::from_secs(3));
    for mut tcp in idle {
        tcp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 16];
        let closed = match tcp.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        };
        assert!(closed, "every idle connection is closed by the server");
    }
}

/// A self-signed certificate for `localhost`, written as PEM files.
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    (cert, key, made.cert.pem())
}

/// A TLS request trusting only `ca_pem`: the status line, or the handshake error.
fn tls_status_line(addr: &str, ca_pem: &str) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    let der = rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap();
    roots.add(der).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    write!(
        tls,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    match tls.read_to_string(&mut answer) {
        Ok(_) => {}
        // Servers may close without close_notify after `Connection: close`.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    Ok(answer.lines().next().unwrap_or_default().to_owned())
}

use rustls::pki_types::pem::PemObject;

#[test]
fn tls_is_served_and_renewed_certificates_are_picked_up() {
    let work = tempfile::tempdir().unwrap();
    let (cert, key, first) = certificate(work.path(), "server");
    let config = format!(
        "[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let server = serve(work.path(), &config);
    assert_eq!(
        tls_status_line(&server.addr, &first).unwrap(),
        "HTTP/1.1 200 OK"
    );
    // Plain HTTP gets no HTTP answer from a TLS port (a TLS alert at most).
    assert!(!status_line(&server.addr, "/healthz").starts_with("HTTP/"));
    // Renew: the new certificate is served within a few seconds, without a restart.
    let (new_cert, new_key, second) = certificate(work.path(), "renewed");
    std::fs::copy(&new_key, &key).unwrap();
    std::fs::copy(&new_cert, &cert).unwrap();
    let started = Instant::now();
    let mut renewed = false;
    while started.elapsed() < Duration::from_secs(10) {
        if tls_status_line(&server.addr, &second).is_ok_and(|s| s == "HTTP/1.1 200 OK") {
            renewed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(renewed, "the renewed certificate is served");
    assert!(
        tls_status_line(&server.addr, &first).is_err(),
        "the old certificate is no longer served"
    );
}
