//! Root filesystems of the built-in images.

use bytes::Bytes;

use super::applets::APPLETS;
use super::spec::FileSeed;

/// `/etc/passwd` of the busybox image.
pub const BUSYBOX_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
";

/// `/etc/group` of the busybox image.
pub const BUSYBOX_GROUP: &str = "root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
";

fn dir(path: &str, mode: u32) -> FileSeed {
    FileSeed::Dir {
        path: path.into(),
        mode,
    }
}

fn file(path: &str, contents: &'static str, mode: u32) -> FileSeed {
    FileSeed::File {
        path: path.into(),
        contents: Bytes::from_static(contents.as_bytes()),
        mode,
    }
}

/// The busybox image: `/bin/busybox` (the registered program `"busybox"`), a
/// `/bin/<applet>` symlink to it for every built-in applet (including `sh` and `[`),
/// `/etc/passwd` and `/etc/group` as in the busybox image, the usual directories
/// (`/tmp` is 1777, `/root` 700), and `/dev/null`, `/dev/zero`, `/dev/urandom` (created
/// for every container).
pub fn busybox() -> Vec<FileSeed> {
    let mut seeds = vec![
        dir("/bin", 0o755),
        dir("/dev", 0o755),
        dir("/etc", 0o755),
        dir("/home", 0o755),
        dir("/proc", 0o555),
        dir("/root", 0o700),
        dir("/sys", 0o555),
        dir("/tmp", 0o1777),
        dir("/usr", 0o755),
        dir("/usr/sbin", 0o755),
        dir("/var", 0o755),
        dir("/var/spool", 0o755),
        dir("/var/spool/mail", 0o755),
        dir("/var/www", 0o755),
        file("/etc/passwd", BUSYBOX_PASSWD, 0o644),
        file("/etc/group", BUSYBOX_GROUP, 0o644),
        FileSeed::Program {
            path: "/bin/busybox".into(),
            name: "busybox".into(),
            mode: 0o755,
        },
    ];
    seeds.extend(APPLETS.iter().map(|name| FileSeed::Symlink {
        path: format!("/bin/{name}"),
        target: "busybox".into(),
    }));
    seeds
}

/// The sandbox (pause) image: just `/pause`, the registered program `"pause"`, which
/// sleeps until SIGINT or SIGTERM ends it with exit code 0.
pub fn pause() -> Vec<FileSeed> {
    vec![FileSeed::Program {
        path: "/pause".into(),
        name: "pause".into(),
        mode: 0o755,
    }]
}
