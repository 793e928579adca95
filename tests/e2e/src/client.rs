//! A small blocking HTTP/1.1 client: one connection per request, any status
//! returned as data (tests assert on 4xx), optional source address in
//! 127.0.0.0/8 so per-IP limits can be exercised.

use std::{
    io::{Read, Write},
    net::{IpAddr, Shutdown, SocketAddr, TcpStream},
    time::Duration,
};

use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Client for one host address.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    addr: SocketAddr,
    checked: bool,
}

impl Client {
    /// A client sending to `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            checked: false,
        }
    }

    /// A client sending to the app at `addr` that holds every response it
    /// receives against the OpenAPI document ([`crate::openapi::check`]).
    pub fn checked(addr: SocketAddr) -> Self {
        Self {
            addr,
            checked: true,
        }
    }

    /// The address requests go to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts a request.
    pub fn request(&self, method: &str, path: &str) -> RequestBuilder {
        RequestBuilder {
            addr: self.addr,
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            source_ip: None,
            checked: self.checked,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request("GET", path)
    }

    /// `POST path`.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request("POST", path)
    }

    /// `PATCH path`.
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request("PATCH", path)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request("DELETE", path)
    }
}

/// A request being built.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    addr: SocketAddr,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    source_ip: Option<IpAddr>,
    checked: bool,
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A JSON body with its content type.
    pub fn json(self, value: &Value) -> Self {
        self.raw_json(value.to_string().into_bytes())
    }

    /// Raw bytes labelled as JSON (for malformed-body tests).
    pub fn raw_json(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self.header("content-type", "application/json")
    }

    /// Raw bytes with no content type added.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends from this loopback address (e.g. `127.0.0.7`).
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.source_ip = Some(ip.parse().expect("valid ip"));
        self
    }

    /// Sends the request and reads the whole response. Panics on transport
    /// failure: tests only talk to a host they started. A checked client
    /// also panics when the response disagrees with the OpenAPI document.
    pub fn send(self) -> TestResponse {
        let (checked, method, path) = (self.checked, self.method.clone(), self.path.clone());
        let resp = self.try_send().expect("request completes");
        if checked {
            crate::openapi::check(&method, &path, &resp);
        }
        resp
    }

    /// Like [`send`](Self::send), returning transport errors.
    pub fn try_send(self) -> std::io::Result<TestResponse> {
        let mut stream = self.connect()?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let mut head = format!(
            "{} {} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.method,
            self.path,
            self.addr,
            self.body.len()
        );
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        // Write the body on another thread while this one reads, so a server
        // that answers early (413) is heard before it closes the connection.
        let mut writer = stream.try_clone()?;
        let body = self.body;
        let write = std::thread::spawn(move || {
            let _ = writer.write_all(&body);
            let _ = writer.flush();
        });
        let mut raw = Vec::new();
        let read = stream.read_to_end(&mut raw);
        let _ = stream.shutdown(Shutdown::Both);
        let _ = write.join();
        if raw.is_empty() {
            read?;
        }
        TestResponse::parse(&raw)
    }

    fn connect(&self) -> std::io::Result<TcpStream> {
        match self.source_ip {
            None => TcpStream::connect_timeout(&self.addr, TIMEOUT),
            Some(ip) => {
                let socket = socket2::Socket::new(
                    socket2::Domain::for_address(self.addr),
                    socket2::Type::STREAM,
                    None,
                )?;
                socket.bind(&SocketAddr::new(ip, 0).into())?;
                socket.connect_timeout(&self.addr.into(), TIMEOUT)?;
                Ok(socket.into())
            }
        }
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body bytes (de-chunked).
    pub body: Vec<u8>,
}

impl TestResponse {
    fn parse(raw: &[u8]) -> std::io::Result<Self> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| bad("no end of head"))?;
        let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("head not utf-8"))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad status line"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let rest = &raw[split + 4..];
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        let body = if chunked {
            dechunk(rest).ok_or_else(|| bad("bad chunking"))?
        } else {
            rest.to_vec()
        };
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    /// First value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The `error.code` of an error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.text()))
            .to_string()
    }
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
