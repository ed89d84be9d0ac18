//! The container filesystem: generated files, /proc, devices, read-only rootfs,
//! mounts; and OOM kills.

use super::{argv, busybox_spec, run_in, sim_with};
use crate::process::{DnsSpec, ExitStatus, MountSpec, SecuritySpec, Signal, SimSpec, Stdio};

async fn in_spec(spec: SimSpec, script: &str) -> super::Run {
    let sim = sim_with(spec);
    let r = run_in(&sim, &["sh", "-c", script]).await;
    sim.shutdown().await;
    r
}

#[tokio::test]
async fn hostname_files_and_hostname_command_show_the_pod_hostname() {
    let r = in_spec(
        busybox_spec(),
        "cat /etc/hostname; hostname; grep vm /etc/hosts; head -n 1 /etc/hosts",
    )
    .await;
    assert_eq!(r.out(), "vm\nvm\n127.0.1.1\tvm\n127.0.0.1\tlocalhost\n");
}

#[tokio::test]
async fn resolv_conf_is_written_from_the_dns_config() {
    let spec = SimSpec {
        dns: Some(DnsSpec {
            servers: vec!["10.96.0.10".into(), "8.8.8.8".into()],
            searches: vec!["ns.svc.cluster.local".into(), "svc.cluster.local".into()],
            options: vec!["ndots:5".into(), "edns0".into()],
        }),
        ..busybox_spec()
    };
    let r = in_spec(spec, "cat /etc/resolv.conf").await;
    assert_eq!(
        r.out(),
        "search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver 8.8.8.8\noptions ndots:5 edns0\n"
    );
    let r = in_spec(busybox_spec(), "cat /etc/resolv.conf").await;
    assert_eq!(
        r.out(),
        "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n"
    );
}

#[tokio::test]
async fn sysctls_appear_under_proc_sys_and_are_read_only() {
    let spec = SimSpec {
        sysctls: vec![
            ("net.core.somaxconn".into(), "1024".into()),
            ("kernel.shm_rmid_forced".into(), "1".into()),
        ],
        ..busybox_spec()
    };
    let r = in_spec(
        spec,
        "cat /proc/sys/net/core/somaxconn /proc/sys/kernel/shm_rmid_forced; echo 5 > /proc/sys/net/core/somaxconn",
    )
    .await;
    assert_eq!(r.out(), "1024\n1\n");
    assert_eq!(
        r.err(),
        "sh: can't create /proc/sys/net/core/somaxconn: Read-only file system\n"
    );
}

#[tokio::test]
async fn proc_self_status_shows_the_user_and_default_capabilities() {
    let spec = SimSpec {
        security: SecuritySpec {
            no_new_privs: true,
            seccomp_enforced: true,
            ..Default::default()
        },
        ..busybox_spec()
    };
    let r = in_spec(spec, "grep -E '^(Name|Pid|Uid|Gid|Groups|NoNewPrivs|Seccomp|Cap[A-Z][a-z][a-z]):' /proc/self/status").await;
    assert_eq!(
        r.out(),
        "Name:\tgrep\nPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t0 \nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n"
    );
}

#[tokio::test]
async fn privileged_containers_have_every_capability_and_add_drop_adjust_the_default() {
    let privileged = SimSpec {
        security: SecuritySpec {
            privileged: true,
            ..Default::default()
        },
        ..busybox_spec()
    };
    let r = in_spec(privileged, "grep CapEff /proc/self/status").await;
    assert_eq!(r.out(), "CapEff:\t000001ffffffffff\n");
    let adjusted = SimSpec {
        security: SecuritySpec {
            add_capabilities: vec!["NET_ADMIN".into(), "CAP_SYS_TIME".into()],
            drop_capabilities: vec!["chown".into(), "KILL".into()],
            ..Default::default()
        },
        ..busybox_spec()
    };
    let r = in_spec(adjusted, "grep CapEff /proc/self/status").await;
    assert_eq!(
        r.out(),
        format!(
            "CapEff:\t{:016x}\n",
            (0xa80425fbu64 | 1 << 12 | 1 << 25) & !(1 | 1 << 5)
        )
    );
    let none = SimSpec {
        security: SecuritySpec {
            drop_capabilities: vec!["ALL".into()],
            ..Default::default()
        },
        ..busybox_spec()
    };
    assert_eq!(
        in_spec(none, "grep CapEff /proc/self/status").await.out(),
        "CapEff:\t0000000000000000\n"
    );
}

#[tokio::test(start_paused = true)]
async fn proc_pid_cmdline_is_nul_separated_argv() {
    let sim = sim_with(busybox_spec());
    let main = sim.spawn(&argv(&["sleep", "100"]), Stdio::null()).unwrap();
    let r = run_in(
        &sim,
        &[
            "sh",
            "-c",
            "tr '\\0' ' ' < /proc/1/cmdline; echo; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'",
        ],
    )
    .await;
    assert_eq!(r.out(), "sleep 100 \nsleep\n4\n");
    main.signal(Signal::SIGKILL);
    sim.shutdown().await;
}

#[tokio::test]
async fn devices_behave_like_null_zero_and_urandom() {
    let r = in_spec(
        busybox_spec(),
        "cat /dev/null | wc -c; echo gone > /dev/null; head -c 3 /dev/zero | wc -c; head -c 16 /dev/urandom | wc -c",
    )
    .await;
    assert_eq!(r.out(), "0\n3\n16\n");
}

#[tokio::test]
async fn a_read_only_rootfs_refuses_writes_with_busybox_messages() {
    let spec = SimSpec {
        readonly_rootfs: true,
        ..busybox_spec()
    };
    let r = in_spec(
        spec,
        "touch /x; echo $?; echo hi > /x; echo $?; mkdir /d; echo $?; echo fine > /dev/null; echo $?; echo shm > /dev/shm/f; cat /dev/shm/f",
    )
    .await;
    assert_eq!(r.out(), "1\n1\n1\n0\nshm\n");
    assert_eq!(
        r.err(),
        "touch: /x: Read-only file system\nsh: can't create /x: Read-only file system\nmkdir: can't create directory '/d': Read-only file system\n"
    );
}

#[tokio::test]
async fn mounts_read_and_write_the_host_directory() {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("from-host"), "host data\n").unwrap();
    let ro = tempfile::tempdir().unwrap();
    std::fs::write(ro.path().join("conf"), "setting=1\n").unwrap();
    let spec = SimSpec {
        mounts: vec![
            MountSpec {
                container_path: "/data".into(),
                host_path: host.path().to_path_buf(),
                readonly: false,
            },
            MountSpec {
                container_path: "/etc/app".into(),
                host_path: ro.path().to_path_buf(),
                readonly: true,
            },
        ],
        ..busybox_spec()
    };
    let r = in_spec(
        spec,
        "cat /data/from-host; echo written > /data/new; mkdir -p /data/d/e; mkdir /data/f; ls /data; cat /etc/app/conf; echo no > /etc/app/conf; touch /etc/app/x",
    )
    .await;
    assert_eq!(r.out(), "host data\nd\nf\nfrom-host\nnew\nsetting=1\n");
    assert_eq!(
        r.err(),
        "sh: can't create /etc/app/conf: Read-only file system\ntouch: /etc/app/x: Read-only file system\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.path().join("new")).unwrap(),
        "written\n"
    );
    assert!(host.path().join("d/e").is_dir());
    assert!(host.path().join("f").is_dir());
    assert_eq!(
        std::fs::read_to_string(ro.path().join("conf")).unwrap(),
        "setting=1\n"
    );
}

#[tokio::test]
async fn a_readonly_mount_is_not_recursive_so_a_host_submount_below_it_stays_writable() {
    // The host's /dev/shm is a tmpfs mounted below /dev (a mount of its own).
    let name = format!("cri-fake-ro-{}", std::process::id());
    let spec = SimSpec {
        mounts: vec![MountSpec {
            container_path: "/hostdev".into(),
            host_path: "/dev".into(),
            readonly: true,
        }],
        ..busybox_spec()
    };
    let r = in_spec(
        spec,
        &format!("touch /hostdev/{name}; echo $?; touch /hostdev/shm/{name}; echo $?"),
    )
    .await;
    let on_host = std::path::Path::new("/dev/shm").join(&name);
    let made = on_host.exists();
    let _ = std::fs::remove_file(&on_host);
    assert_eq!(
        r.err(),
        format!("touch: /hostdev/{name}: Read-only file system\n")
    );
    assert_eq!(r.out(), "1\n0\n");
    assert!(made);
    assert!(!std::path::Path::new("/dev").join(&name).exists());
}

#[tokio::test]
async fn dot_dot_at_a_mounts_root_leads_back_into_the_container_not_up_the_host() {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("inside"), "in\n").unwrap();
    let spec = SimSpec {
        mounts: vec![MountSpec {
            container_path: "/data".into(),
            host_path: host.path().join("."),
            readonly: false,
        }],
        ..busybox_spec()
    };
    let r = in_spec(
        spec,
        "cat /data/../data/inside; cat /data/../etc/hostname; ls /data/../../data",
    )
    .await;
    assert_eq!(r.out(), "in\nvm\ninside\n");
    assert_eq!(r.err(), "");
}

#[tokio::test]
async fn read_file_shows_files_as_the_container_sees_them() {
    let sim = sim_with(busybox_spec());
    let r = run_in(&sim, &["sh", "-c", "echo content > /tmp/made"]).await;
    assert_eq!(r.code(), 0);
    assert_eq!(
        sim.read_file("/tmp/made").as_deref(),
        Some(&b"content\n"[..])
    );
    assert_eq!(
        sim.read_file("/bin/sh").map(|b| b.starts_with(b"\x7fELF")),
        Some(true)
    );
    assert_eq!(sim.read_file("/nope"), None);
    sim.shutdown().await;
}

#[tokio::test]
async fn dd_with_a_block_bigger_than_the_memory_limit_is_oom_killed() {
    let sim = sim_with(SimSpec {
        memory_limit_bytes: 32 << 20,
        ..busybox_spec()
    });
    let r = run_in(
        &sim,
        &["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"],
    )
    .await;
    assert_eq!(r.status, ExitStatus::Signaled(Signal::SIGKILL));
    assert_eq!(r.code(), 137);
    assert!(sim.oom_killed());
    sim.shutdown().await;
}

#[tokio::test]
async fn an_oom_killed_child_marks_the_container_even_when_the_main_process_survives() {
    let sim = sim_with(SimSpec {
        memory_limit_bytes: 32 << 20,
        ..busybox_spec()
    });
    assert!(!sim.oom_killed());
    let r = run_in(
        &sim,
        &[
            "sh",
            "-c",
            "dd if=/dev/zero of=/dev/null bs=200M count=1; echo survived",
        ],
    )
    .await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("survived\n".into(), "Killed\n".into(), 0)
    );
    assert!(sim.oom_killed());
    sim.shutdown().await;
}

#[tokio::test]
async fn dd_within_the_limit_copies_and_prints_the_records_summary() {
    let sim = sim_with(SimSpec {
        memory_limit_bytes: 32 << 20,
        ..busybox_spec()
    });
    let r = run_in(
        &sim,
        &["dd", "if=/dev/zero", "of=/tmp/blob", "bs=1M", "count=3"],
    )
    .await;
    assert_eq!(r.code(), 0);
    let err = r.err();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(&lines[..2], &["3+0 records in", "3+0 records out"]);
    assert!(
        lines[2].starts_with("3145728 bytes (3.0MB) copied, "),
        "{}",
        lines[2]
    );
    assert!(!sim.oom_killed());
    assert_eq!(sim.read_file("/tmp/blob").map(|b| b.len()), Some(3 << 20));
    let r = run_in(
        &sim,
        &[
            "sh",
            "-c",
            "echo hello | dd bs=2 2>/dev/null; echo; echo 12345 | dd bs=4 count=1 status=none",
        ],
    )
    .await;
    assert_eq!(r.out(), "hello\n\n1234");
    sim.shutdown().await;
}

#[tokio::test]
async fn dd_regroups_records_when_input_and_output_block_sizes_differ() {
    let sim = sim_with(busybox_spec());
    let r = run_in(
        &sim,
        &[
            "dd",
            "if=/dev/zero",
            "of=/tmp/z",
            "ibs=1000",
            "obs=512",
            "count=3",
        ],
    )
    .await;
    let err = r.err();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(&lines[..2], &["3+0 records in", "5+1 records out"]);
    assert_eq!(sim.read_file("/tmp/z").map(|b| b.len()), Some(3000));
    let r = run_in(
        &sim,
        &["sh", "-c", "dd if=/nope; echo $?; dd bs=abc; echo $?"],
    )
    .await;
    assert_eq!(
        r.err(),
        "dd: can't open '/nope': No such file or directory\ndd: invalid number 'abc'\n"
    );
    assert_eq!(r.out(), "1\n1\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn mount_bind_shows_the_source_at_the_target_in_the_container_only() {
    let host = tempfile::tempdir().unwrap();
    let spec = SimSpec {
        mounts: vec![MountSpec {
            container_path: "/vol".into(),
            host_path: host.path().to_path_buf(),
            readonly: false,
        }],
        security: SecuritySpec {
            privileged: true,
            ..SecuritySpec::default()
        },
        ..busybox_spec()
    };
    let r = in_spec(
        spec,
        "mkdir -p /vol/point /tmp/mnt; mount --bind /etc /vol/point; echo $?; \
         mount -o bind /vol /tmp/mnt; echo $?; \
         ls /vol/point | grep -c passwd; cat /tmp/mnt/point/hostname; echo x > /tmp/mnt/made",
    )
    .await;
    assert_eq!(r.out(), "0\n0\n1\nvm\n");
    assert_eq!(r.err(), "");
    // Nothing of the bind reaches the host; writes through the second bind do.
    assert_eq!(
        std::fs::read_dir(host.path().join("point"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_to_string(host.path().join("made")).unwrap(),
        "x\n"
    );
}

#[tokio::test]
async fn mount_without_cap_sys_admin_or_on_a_missing_directory_fails_like_busybox() {
    let r = in_spec(
        busybox_spec(),
        "mkdir /tmp/m; mount --bind /etc /tmp/m; echo $?; ls /tmp/m | wc -l",
    )
    .await;
    assert_eq!(r.out(), "255\n0\n");
    assert_eq!(
        r.err(),
        "mount: mounting /etc on /tmp/m failed: Operation not permitted\n"
    );
    let spec = SimSpec {
        security: SecuritySpec {
            privileged: true,
            ..SecuritySpec::default()
        },
        ..busybox_spec()
    };
    let r = in_spec(spec, "mount --bind /etc /nope; echo $?").await;
    assert_eq!(r.out(), "255\n");
    assert_eq!(
        r.err(),
        "mount: mounting /etc on /nope failed: No such file or directory\n"
    );
}
