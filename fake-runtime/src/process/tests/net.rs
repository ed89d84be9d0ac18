//! The network namespace seen from inside: `nc`, `httpd` and `wget` talk to each other
//! through the container's simulated ports, with busybox 1.35's words (measured on
//! Debian's busybox-static) where they fail.

use super::{busybox, run_in, sh};
use crate::process::ExitStatus;

/// Strips the `Date:` and `Last-Modified:` values, which change with the clock.
fn without_dates(text: &str) -> String {
    text.split("\r\n")
        .map(|line| {
            if line.starts_with("Date: ") || line.starts_with("Last-Modified: ") {
                line.split_once(": ").map_or(line, |(k, _)| k).to_owned() + ": *"
            } else if line.starts_with("ETag: ") {
                "ETag: *".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[tokio::test]
async fn nc_listens_and_nc_connects_and_bytes_flow_both_ways() {
    // Each side keeps its stdin open a moment: nc ends when the peer closes, so a
    // side whose input ended at once could close before the other has written.
    let r = sh(
        "(echo from-server; sleep 0.2) | nc -l -p 7000 > /tmp/got & \
         sleep 0.1; (echo from-client; sleep 0.2) | nc 127.0.0.1 7000; wait; cat /tmp/got",
    )
    .await;
    assert_eq!(
        (r.out().as_str(), r.err().as_str(), r.status),
        ("from-server\nfrom-client\n", "", ExitStatus::Exited(0))
    );
}

#[tokio::test]
async fn nc_with_e_serves_a_program_on_the_connection_and_ll_keeps_serving() {
    let r = sh("nc -ll -p 7001 -e cat & sleep 0.1; \
         echo one | nc localhost 7001; echo two | nc localhost 7001; kill $!")
    .await;
    assert_eq!((r.out().as_str(), r.err().as_str()), ("one\ntwo\n", ""));
}

#[tokio::test]
async fn nc_errors_are_busyboxs() {
    let r = sh("nc 127.0.0.1 7002; echo $?; nc -l -p 70000; echo $?; \
         nc -l -p 7003 & sleep 0.1; nc -l -p 7003; echo $?; kill $!")
    .await;
    assert_eq!(
        r.err(),
        "nc: can't connect to remote host (127.0.0.1): Connection refused\n\
         nc: bad port '70000'\n\
         nc: bind: Address already in use\n"
    );
    assert_eq!(r.out(), "1\n1\n1\n");
    // The small nc of Debian's busybox has no -k.
    let r = sh("nc -lk -p 7004").await;
    assert!(
        r.err()
            .starts_with("nc: invalid option -- 'k'\nBusyBox v1.36.1"),
        "{}",
        r.err()
    );
    assert_eq!(r.status, ExitStatus::Exited(1));
}

#[tokio::test]
async fn httpd_serves_files_with_busyboxs_headers() {
    let sim = busybox();
    let r = run_in(
        &sim,
        &[
            "sh",
            "-c",
            "mkdir -p /www/sub; echo hello page > /www/index.html; echo a file > /www/sub/f.txt; \
             httpd -p 8099 -h /www; \
             printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8099; echo; \
             printf 'GET /sub/f.txt HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8099",
        ],
    )
    .await;
    assert_eq!(r.status, ExitStatus::Exited(0), "{}", r.err());
    assert_eq!(
        without_dates(&r.out()),
        "HTTP/1.1 200 OK\r\nDate: *\r\nConnection: close\r\nContent-type: text/html\r\n\
         Accept-Ranges: bytes\r\nLast-Modified: *\r\nETag: *\r\nContent-Length: 11\r\n\r\nhello page\n\n\
         HTTP/1.1 200 OK\r\nDate: *\r\nConnection: close\r\nContent-type: text/plain\r\n\
         Accept-Ranges: bytes\r\nLast-Modified: *\r\nETag: *\r\nContent-Length: 7\r\n\r\na file\n"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn httpd_answers_errors_as_busybox_does() {
    let r = sh("mkdir -p /www/sub /www/empty; httpd -p 8099 -h /www; \
         for req in 'GET /nope HTTP/1.0' 'GET /sub HTTP/1.0' 'FOO / HTTP/1.0' 'garbage' 'GET /../etc/passwd HTTP/1.0' 'GET /empty/ HTTP/1.0'; do \
           printf '%s\\r\\n\\r\\n' \"$req\" | nc 127.0.0.1 8099 | head -1; done")
    .await;
    assert_eq!(
        r.out(),
        "HTTP/1.1 404 Not Found\r\nHTTP/1.1 302 Found\r\nHTTP/1.1 501 Not Implemented\r\n\
         HTTP/1.1 400 Bad Request\r\nHTTP/1.1 400 Bad Request\r\nHTTP/1.1 404 Not Found\r\n"
    );
    let r = sh("mkdir /www; httpd -f -p 8099 -h /www & sleep 0.1; \
         printf 'GET /sub HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8099; \
         httpd -f -p 8099 -h /www; echo $?; kill $!")
    .await;
    assert_eq!(
        without_dates(&r.out()),
        "HTTP/1.1 404 Not Found\r\nDate: *\r\nConnection: close\r\nContent-type: text/html\r\n\r\n\
         <HTML><HEAD><TITLE>404 Not Found</TITLE></HEAD>\n<BODY><H1>404 Not Found</H1>\n\
         The requested URL was not found\n</BODY></HTML>\n1\n"
    );
    assert_eq!(r.err(), "httpd: bind: Address already in use\n");
}

#[tokio::test]
async fn wget_fetches_from_httpd_with_busyboxs_progress_lines() {
    let r = sh(
        "mkdir /www; echo hello page > /www/index.html; httpd -p 80 -h /www; cd /tmp; \
         wget http://127.0.0.1/; cat index.html; wget -q -O - http://localhost/; \
         wget -O - http://127.0.0.1/nope; echo $?",
    )
    .await;
    assert_eq!(r.out(), "hello page\nhello page\n1\n");
    assert_eq!(
        r.err(),
        "Connecting to 127.0.0.1:80 (127.0.0.1:80)\n\
         saving to 'index.html'\n\
         index.html           100% |********************************|    11  0:00:00 ETA\n\
         'index.html' saved\n\
         Connecting to 127.0.0.1:80 (127.0.0.1:80)\n\
         wget: server returned error: HTTP/1.1 404 Not Found\n"
    );
}

#[tokio::test]
async fn containers_sharing_a_network_reach_each_others_ports() {
    let net = crate::process::net::Network::new();
    let spec = || crate::process::SimSpec {
        network: Some(net.clone()),
        ..super::busybox_spec()
    };
    let server = super::sim_with(spec());
    let client = super::sim_with(spec());
    let serving = run_in(&server, &["sh", "-c", "echo pong | nc -l -p 7100"]);
    let asking = async {
        tokio::task::yield_now().await;
        while net.listening_ports().is_empty() {
            tokio::task::yield_now().await;
        }
        // The client's stdin stays open until the server has closed.
        let (_open, stdin) = crate::process::Output::pipe();
        let stdin = crate::process::Input::from_reader(stdin);
        super::run_with_input(&client, &["nc", "127.0.0.1", "7100"], stdin).await
    };
    let (served, asked) = tokio::join!(serving, asking);
    assert_eq!(served.status, ExitStatus::Exited(0));
    assert_eq!(asked.out(), "pong\n");
    // Another namespace has nothing on that port.
    let r = sh("nc 127.0.0.1 7100").await;
    assert_eq!(
        r.err(),
        "nc: can't connect to remote host (127.0.0.1): Connection refused\n"
    );
}

#[tokio::test]
async fn stty_without_a_terminal_fails_as_busybox_does() {
    let r = sh("stty size; echo $?").await;
    assert_eq!(
        (r.out().as_str(), r.err().as_str()),
        (
            "1\n",
            "stty: standard input: Inappropriate ioctl for device\n"
        )
    );
}

#[tokio::test]
async fn netstat_ln_lists_the_namespaces_listeners_in_busyboxs_format() {
    let r = sh("nc -l -p 7010 & sleep 0.1; netstat -ln; echo $?; kill $!").await;
    assert_eq!(
        r.out(),
        "Active Internet connections (only servers)\n\
         Proto Recv-Q Send-Q Local Address           Foreign Address         State       \n\
         tcp        0      0 0.0.0.0:7010            0.0.0.0:*               LISTEN      \n\
         Active UNIX domain sockets (only servers)\n\
         Proto RefCnt Flags       Type       State         I-Node Path\n\
         0\n"
    );
    assert_eq!(r.err(), "");
}

#[tokio::test]
async fn netstat_without_l_shows_no_listeners_and_t_limits_to_tcp() {
    let r = sh("nc -l -p 7011 & sleep 0.1; netstat -nt; netstat -z; echo $?; kill $!").await;
    assert_eq!(
        r.out(),
        "Active Internet connections (w/o servers)\n\
         Proto Recv-Q Send-Q Local Address           Foreign Address         State       \n\
         1\n"
    );
    assert!(
        r.err()
            .starts_with("netstat: invalid option -- 'z'\nBusyBox v1.36.1")
    );
}

#[tokio::test]
async fn netstat_in_a_pod_network_does_not_show_the_hosts_listeners() {
    let host = std::net::TcpListener::bind("127.0.0.1:0").expect("host listener");
    let port = host.local_addr().expect("addr").port();
    let r = sh("netstat -lnt").await;
    assert!(!r.out().contains(&format!(":{port} ")), "{}", r.out());
}

#[tokio::test]
async fn netstat_on_the_node_network_shows_the_real_hosts_listeners_too() {
    use crate::process::net::Network;
    let host = std::net::TcpListener::bind("127.0.0.1:0").expect("host listener");
    let port = host.local_addr().expect("addr").port();
    let sim = super::sim_with(crate::process::SimSpec {
        network: Some(Network::node()),
        ..super::busybox_spec()
    });
    let r = run_in(&sim, &["netstat", "-lnt"]).await;
    sim.shutdown().await;
    let line = format!(
        "tcp        0      0 {:<23} {:<23} LISTEN      \n",
        format!("127.0.0.1:{port}"),
        "0.0.0.0:*"
    );
    assert!(r.out().contains(&line), "{}", r.out());
    drop(host);
}
