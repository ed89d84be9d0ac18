//! `httpd`, busybox 1.35's static file server (`httpd -f -p [IP:]PORT -h HOME`),
//! listening in the container's network namespace: what images such as nginx and
//! httpd run, and what a port-forward reaches. Responses are byte for byte those of
//! Debian's busybox 1.35 (measured): `Date`, `Connection: close`, `Content-type` by
//! suffix, `Accept-Ranges`, `Last-Modified`, `ETag` (`"hex(mtime)-hex(size)"`),
//! `Content-Length`; errors with busybox's small HTML page. GET and HEAD are served
//! (both with the body, as measured); other methods are 501 (no CGI).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::Env;
use super::info::strftime;
use super::net::parse_port;
use crate::process::ExitStatus;
use crate::process::pipe::{Input, Output};
use crate::process::program::ProgramContext;
use crate::process::vfs::{FileKind, FsError};
use crate::process::{Stdio, System};

/// The largest request head read (busybox's `IOBUF_SIZE`-bound header reading).
const MAX_REQUEST_HEAD: usize = 8 * 1024;
const RFC1123: &str = "%a, %d %b %Y %H:%M:%S GMT";
const USAGE: &str = "httpd [-ifvm] [-c CONFFILE] [-p [IP:]PORT] [-u USER[:GRP]] [-r REALM] [-h HOME]\nor httpd -d/-e/-m STRING\n\nListen for incoming HTTP requests\n\n\t-i\t\tInetd mode\n\t-f\t\tDon't daemonize\n\t-v[v]\t\tVerbose\n\t-p [IP:]PORT\tBind to IP:PORT (default *:80)\n\t-u USER[:GRP]\tSet uid/gid after binding to port\n\t-r REALM\tAuthentication realm for Basic Authentication\n\t-h HOME\t\tHome directory (default .)\n\t-c FILE\t\tConfiguration file (default {/etc,HOME}/httpd.conf)\n\t-m STRING\tMD5 crypt STRING\n\t-e STRING\tHTML encode STRING\n\t-d STRING\tURL decode STRING";

pub(super) async fn httpd(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut foreground = false;
    let mut port = 80u16;
    let mut home = ".".to_owned();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let mut value = || {
            i += 1;
            args.get(i).cloned()
        };
        match arg {
            "-f" => foreground = true,
            "-v" | "-vv" | "-fv" | "-vf" => foreground |= arg.contains('f'),
            "-p" => {
                let Some(v) = value() else {
                    return env.usage(USAGE).await;
                };
                let p = v.rsplit(':').next().unwrap_or("");
                match parse_port(p) {
                    Some(p) => port = p,
                    None => {
                        env.error(format!("bad port '{p}'")).await;
                        return ExitStatus::Exited(1);
                    }
                }
            }
            "-h" => {
                let Some(v) = value() else {
                    return env.usage(USAGE).await;
                };
                home = v;
            }
            "-c" | "-u" | "-r" => {
                if value().is_none() {
                    return env.usage(USAGE).await;
                }
            }
            _ => return env.usage(USAGE).await,
        }
        i += 1;
    }
    let home = env.abs(&home);
    if !matches!(
        env.sys
            .vfs()
            .stat(&home, true, env.sys.access())
            .map(|s| s.kind),
        Ok(FileKind::Dir)
    ) {
        env.error(format!(
            "can't change directory to '{home}': No such file or directory"
        ))
        .await;
        return ExitStatus::Exited(1);
    }
    let mut listener = match env.sys.network().listen(port) {
        Ok(l) => l,
        Err(e) => {
            env.error(format!("bind: {e}")).await;
            return ExitStatus::Exited(1);
        }
    };
    if !foreground {
        // Without -f busybox daemonizes: a child serves, the parent exits 0.
        drop(listener);
        let mut argv = env.args.clone();
        argv.insert(1, "-f".into());
        let stdio = Stdio {
            stdin: Input::empty(),
            stdout: Output::null(),
            stderr: Output::null(),
        };
        return match env.spawn(&argv, stdio) {
            Ok(_) => ExitStatus::Exited(0),
            Err(_) => {
                env.error("vfork: Resource temporarily unavailable").await;
                ExitStatus::Exited(1)
            }
        };
    }
    let mut sessions = FuturesUnordered::new();
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let Some(conn) = conn else { return ExitStatus::Exited(1) };
                sessions.push(serve(env.sys.clone(), home.clone(), conn));
            }
            Some(()) = sessions.next(), if !sessions.is_empty() => {}
        }
    }
}

/// One connection: one request, one response, then close.
pub(super) async fn serve(sys: System, home: String, mut conn: DuplexStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if head.windows(2).any(|w| w == b"\n\n") || head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        match conn.read(&mut buf).await {
            // A peer that closes without a request gets nothing.
            Ok(0) | Err(_) if head.is_empty() => return,
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > MAX_REQUEST_HEAD {
            break;
        }
    }
    let response = respond(&sys, &home, &head);
    let _ = conn.write_all(&response).await;
    let _ = conn.shutdown().await;
}

/// The response to a request head.
fn respond(sys: &System, home: &str, head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next().unwrap_or("");
    let Some((method, rest)) = line.split_once(' ') else {
        return error_page(400);
    };
    let Some((url, version)) = rest.split_once(' ') else {
        return error_page(400);
    };
    if !url.starts_with('/') || !version.starts_with("HTTP/") {
        return error_page(400);
    }
    if !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD") {
        return error_page(501);
    }
    let path = url.split('?').next().unwrap_or("");
    let Some(path) = percent_decode(path) else {
        return error_page(400);
    };
    let Some(path) = canonical(&path) else {
        return error_page(400);
    };
    let mut file = format!("{}{}", home.trim_end_matches('/'), path);
    if path.ends_with('/') {
        file.push_str("index.html");
    }
    let access = sys.access();
    let stat = match sys.vfs().stat(&file, true, access) {
        Ok(stat) => stat,
        Err(_) => return error_page(404),
    };
    if stat.kind == FileKind::Dir {
        return headers(302, None, &format!("Location: {path}/\r\n"), None);
    }
    let body = match sys.vfs().read_to_end(&file, sys.access()) {
        Ok(body) => body,
        Err(FsError::PermissionDenied) => return error_page(403),
        Err(_) => return error_page(404),
    };
    let mtime = stat
        .mtime
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let file_headers = format!(
        "Accept-Ranges: bytes\r\nLast-Modified: {}\r\nETag: \"{mtime:x}-{:x}\"\r\nContent-Length: {}\r\n",
        strftime(RFC1123, mtime as i64),
        body.len(),
        body.len()
    );
    headers(
        200,
        mime_type(&file),
        &file_headers,
        Some(Bytes::from(body)),
    )
}

/// The status line, `Date`, `Connection`, the content type, `extra`, then the body.
fn headers(code: u16, mime: Option<&str>, extra: &str, body: Option<Bytes>) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut out = format!(
        "HTTP/1.1 {code} {}\r\nDate: {}\r\nConnection: close\r\n",
        reason(code),
        strftime(RFC1123, now)
    );
    if let Some(mime) = mime.or((code != 200).then_some("text/html")) {
        out.push_str(&format!("Content-type: {mime}\r\n"));
    }
    out.push_str(extra);
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if let Some(body) = body {
        out.extend_from_slice(&body);
    }
    out
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Not Implemented",
    }
}

/// An error response with busybox's page.
fn error_page(code: u16) -> Vec<u8> {
    let info = match code {
        400 => "Unsupported method",
        404 => "The requested URL was not found",
        501 => "The requested method is not recognized",
        _ => "",
    };
    let reason = reason(code);
    let page = format!(
        "<HTML><HEAD><TITLE>{code} {reason}</TITLE></HEAD>\n<BODY><H1>{code} {reason}</H1>\n{info}\n</BODY></HTML>\n"
    );
    headers(code, None, "", Some(Bytes::from(page)))
}

/// busybox's suffix table (of the file served); no `Content-type` for other
/// suffixes.
fn mime_type(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let suffix = name.rsplit_once('.')?.1;
    Some(match suffix {
        "txt" | "h" | "c" | "cc" | "cpp" => "text/plain",
        "htm" | "html" => "text/html",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "css" => "text/css",
        "js" => "application/javascript",
        "wav" => "audio/wav",
        "avi" => "video/x-msvideo",
        "qt" | "mov" => "video/quicktime",
        "mpe" | "mpeg" => "video/mpeg",
        "mid" | "midi" => "audio/midi",
        "mp3" => "audio/mpeg",
        _ => return None,
    })
}

/// `%XX` decoding; `None` for a bad escape.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Removes `//`, `/./` and `/../` (keeping a trailing slash); `None` when `..`
/// climbs above the root.
fn canonical(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            parts.pop()?;
        } else {
            parts.push(part);
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    let dir_like = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if dir_like && !out.ends_with('/') {
        out.push('/');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_canonical_and_cannot_climb_above_the_root() {
        assert_eq!(canonical("/a//b/./c").as_deref(), Some("/a/b/c"));
        assert_eq!(canonical("/a/b/../").as_deref(), Some("/a/"));
        assert_eq!(canonical("/../etc/passwd"), None);
        assert_eq!(percent_decode("/a%20b").as_deref(), Some("/a b"));
        assert_eq!(percent_decode("/a%2"), None);
    }

    #[test]
    fn error_pages_are_busyboxs() {
        let page = String::from_utf8(error_page(404)).unwrap();
        assert!(
            page.starts_with("HTTP/1.1 404 Not Found\r\nDate: "),
            "{page}"
        );
        assert!(page.ends_with("\r\nConnection: close\r\nContent-type: text/html\r\n\r\n<HTML><HEAD><TITLE>404 Not Found</TITLE></HEAD>\n<BODY><H1>404 Not Found</H1>\nThe requested URL was not found\n</BODY></HTML>\n"), "{page}");
    }
}
