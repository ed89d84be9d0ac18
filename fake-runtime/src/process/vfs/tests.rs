use super::*;

fn root() -> Cred {
    Cred::root()
}

fn acc(c: &Cred) -> Access<'_> {
    Access { cred: c, pid: 1 }
}

fn fs() -> Arc<Vfs> {
    let v = Vfs::new(false);
    v.seed_dir("/etc", 0o755).unwrap();
    v.seed_dir("/tmp", 0o1777).unwrap();
    v.seed_file(
        "/etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\n".to_vec(),
        0o644,
    )
    .unwrap();
    v.seed(&FileSeed::Symlink {
        path: "/etc/link".into(),
        target: "passwd".into(),
    })
    .unwrap();
    v.seed_devices().unwrap();
    Arc::new(v)
}

#[test]
fn files_written_through_a_sink_read_back_and_symlinks_resolve_relative_to_their_dir() {
    let v = fs();
    let r = root();
    v.write_file("/tmp/a", b"hello", acc(&r)).unwrap();
    let sink = v.open_write("/tmp/a", WriteMode::APPEND, acc(&r)).unwrap();
    sink.write(b" world").unwrap();
    assert_eq!(v.read_to_end("/tmp/a", acc(&r)).unwrap(), b"hello world");
    assert_eq!(
        v.read_to_end("/etc/link", acc(&r)).unwrap(),
        b"root:x:0:0:root:/root:/bin/sh\n"
    );
    assert_eq!(v.read_link("/etc/link", acc(&r)).unwrap(), "passwd");
    assert_eq!(
        v.stat("/etc/link", false, acc(&r)).unwrap().kind,
        FileKind::Symlink
    );
}

#[test]
fn non_root_users_cannot_write_root_owned_files_but_can_create_in_sticky_tmp() {
    let v = fs();
    let user = Cred {
        uid: 1000,
        gid: 1000,
        groups: vec![],
    };
    assert_eq!(
        v.open_write("/etc/passwd", WriteMode::TRUNCATE, acc(&user))
            .err(),
        Some(FsError::PermissionDenied)
    );
    assert_eq!(
        v.open_write("/etc/new", WriteMode::TRUNCATE, acc(&user))
            .err(),
        Some(FsError::PermissionDenied)
    );
    v.write_file("/tmp/mine", b"x", acc(&user)).unwrap();
    assert_eq!(v.stat("/tmp/mine", true, acc(&user)).unwrap().uid, 1000);
    let r = root();
    v.write_file("/tmp/roots", b"x", acc(&r)).unwrap();
    assert_eq!(
        v.remove("/tmp/roots", false, acc(&user)),
        Err(FsError::NotPermitted)
    );
}

#[test]
fn a_read_only_root_refuses_writes_except_on_devices() {
    let v = Vfs::new(true);
    v.seed_dir("/tmp", 0o1777).unwrap();
    v.seed_devices().unwrap();
    let v = Arc::new(v);
    let r = root();
    assert_eq!(
        v.open_write("/x", WriteMode::TRUNCATE, acc(&r)).err(),
        Some(FsError::ReadOnly)
    );
    assert_eq!(v.mkdir("/tmp/d", 0o777, acc(&r)), Err(FsError::ReadOnly));
    assert!(
        v.open_write("/dev/null", WriteMode::TRUNCATE, acc(&r))
            .is_ok()
    );
    v.write_file("/dev/shm/ok", b"1", acc(&r)).unwrap();
}

#[test]
fn dev_zero_reads_shared_zero_chunks_and_dev_null_reads_end_of_file() {
    let v = fs();
    let r = root();
    let mut zero = v.open_read("/dev/zero", acc(&r)).unwrap();
    let chunk = zero.read_chunk().unwrap().unwrap();
    assert_eq!(chunk.len(), CHUNK);
    assert!(chunk.iter().all(|&b| b == 0));
    let mut null = v.open_read("/dev/null", acc(&r)).unwrap();
    assert_eq!(null.read_chunk().unwrap(), None);
}

#[test]
fn normalize_resolves_dots_against_the_working_directory() {
    assert_eq!(normalize("/a/b", "../c/./d"), "/a/c/d");
    assert_eq!(normalize("/", "x"), "/x");
    assert_eq!(normalize("/a", "/../.."), "/");
    assert_eq!(normalize("/a", ""), "/a");
}

#[test]
fn directories_and_files_without_x_bits_are_not_executable() {
    let v = fs();
    let r = root();
    assert_eq!(
        v.executable("/etc/passwd", acc(&r)),
        Err(FsError::PermissionDenied)
    );
    assert_eq!(
        v.executable("/tmp", acc(&r)),
        Err(FsError::PermissionDenied)
    );
    assert_eq!(v.executable("/nope", acc(&r)), Err(FsError::NotFound));
}

#[test]
fn filesystems_made_from_one_template_share_nothing_they_write() {
    let template = fs().template();
    let r = root();
    let first = Arc::new(Vfs::from_template(&template, false));
    let second = Arc::new(Vfs::from_template(&template, false));
    first
        .write_file("/etc/passwd", b"changed\n", acc(&r))
        .unwrap();
    first.chmod("/tmp", 0o700, acc(&r)).unwrap();
    first.remove("/etc/link", false, acc(&r)).unwrap();
    assert_eq!(
        first.read_to_end("/etc/passwd", acc(&r)).unwrap(),
        b"changed\n"
    );
    assert_eq!(
        second.read_to_end("/etc/passwd", acc(&r)).unwrap(),
        b"root:x:0:0:root:/root:/bin/sh\n"
    );
    assert_eq!(
        second.read_to_end("/etc/link", acc(&r)).unwrap(),
        b"root:x:0:0:root:/root:/bin/sh\n"
    );
    let third = Vfs::from_template(&template, false);
    assert!(third.exists("/etc/link", acc(&r)));
    assert_eq!(
        third
            .stat("/tmp", true, acc(&r))
            .map(|s| s.mode & 0o7777)
            .ok(),
        Some(0o1777)
    );
}
