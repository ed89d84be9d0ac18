//! The applets' main flags and busybox wording.

use std::time::Duration;

use super::{argv, busybox, run, run_in, run_with_input, sh, sh_in};
use crate::process::{ExitStatus, Input, Stdio};

#[tokio::test]
async fn echo_handles_n_e_and_stops_at_the_first_non_option() {
    let r = sh(r"echo -n a; echo -e 'b\tc\n\0101'; echo 'd\n'; echo -e 'x\cy'; echo -x -n").await;
    assert_eq!(r.out(), "ab\tc\nA\nd\\n\nx-x -n\n");
}

#[tokio::test]
async fn printf_formats_strings_numbers_chars_and_escapes() {
    let r =
        sh(r"printf '%s|%d|%c|%x|%o|%X|%%|%5s|%-3d|%05d|%.2s\n' str 42 char 255 8 255 r 7 42 abc")
            .await;
    assert_eq!(r.out(), "str|42|c|ff|10|FF|%|    r|7  |00042|ab\n");
    let r = sh(r"printf '%s-' a b c; printf '\n%b\n' 'x\ty'; printf '%d\n' \'A").await;
    assert_eq!(r.out(), "a-b-c-\nx\ty\n65\n");
    let r = sh("printf '%d\\n' abc; echo $?").await;
    assert_eq!(
        (r.out(), r.err()),
        ("0\n1\n".into(), "sh: invalid number 'abc'\n".into())
    );
}

#[tokio::test]
async fn cat_concatenates_files_and_stdin_and_reports_missing_files() {
    let sim = busybox();
    let r = run_with_input(
        &sim,
        &[
            "sh",
            "-c",
            "echo file > /tmp/f; cat /tmp/f - /nope /tmp/f; echo $?",
        ],
        Input::from_bytes("stdin\n"),
    )
    .await;
    assert_eq!(r.out(), "file\nstdin\nfile\n1\n");
    assert_eq!(
        r.err(),
        "cat: can't open '/nope': No such file or directory\n"
    );
    let r = run_in(&sim, &["cat", "/etc"]).await;
    assert_eq!(
        (r.err(), r.code()),
        ("cat: read error: Is a directory\n".into(), 1)
    );
    let r = run_in(&sim, &["cat", "-n", "/etc/hostname"]).await;
    assert_eq!(r.out(), "     1\tvm\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn cat_with_no_stdin_reads_end_of_file_at_once() {
    let r = run(&["cat"]).await;
    assert_eq!((r.out(), r.code()), ("".into(), 0));
}

#[tokio::test(start_paused = true)]
async fn sleep_accepts_fractions_suffixes_and_sums_its_arguments() {
    let sim = busybox();
    for (args, secs) in [
        (vec!["sleep", "1.5"], 1.5),
        (vec!["sleep", "1m"], 60.0),
        (vec!["sleep", "1h"], 3600.0),
        (vec!["sleep", "1", "2s"], 3.0),
    ] {
        let start = tokio::time::Instant::now();
        let r = run_in(&sim, &args).await;
        assert_eq!(r.code(), 0);
        assert_eq!(start.elapsed(), Duration::from_secs_f64(secs));
    }
    let r = run_in(&sim, &["sleep", "abc"]).await;
    assert_eq!(
        (r.err(), r.code()),
        ("sleep: invalid number 'abc'\n".into(), 1)
    );
    let p = sim
        .spawn(&argv(&["sleep", "infinity"]), Stdio::null())
        .unwrap();
    tokio::time::sleep(Duration::from_secs(86400 * 365)).await;
    assert_eq!(p.try_status(), None);
    sim.shutdown().await;
}

#[tokio::test]
async fn head_and_tail_select_lines_and_bytes() {
    let r = sh("seq 1 20 > /tmp/n; head -n 2 /tmp/n; head -3 /tmp/n | tail -n 1; head -c 5 /tmp/n; echo; tail -n 2 /tmp/n; tail -c 3 /tmp/n; tail -n +19 /tmp/n").await;
    assert_eq!(r.out(), "1\n2\n3\n1\n2\n3\n19\n20\n20\n19\n20\n");
}

#[tokio::test]
async fn head_prints_headers_for_several_files() {
    let r = sh("echo a > /tmp/a; echo b > /tmp/b; head -n 1 /tmp/a /tmp/b").await;
    assert_eq!(r.out(), "==> /tmp/a <==\na\n\n==> /tmp/b <==\nb\n");
}

#[tokio::test]
async fn yes_repeats_its_arguments() {
    let r = sh("yes | head -n 2; yes a b | head -n 1").await;
    assert_eq!(r.out(), "y\ny\na b\n");
}

#[tokio::test]
async fn seq_counts_with_steps_separators_and_widths() {
    let r = sh("seq 3; seq 2 4; seq 10 -3 1; seq -s , 3; seq -w 8 10; seq 0.5 0.5 1.5").await;
    assert_eq!(
        r.out(),
        "1\n2\n3\n2\n3\n4\n10\n7\n4\n1\n1,2,3\n08\n09\n10\n0.5\n1.0\n1.5\n"
    );
}

#[tokio::test]
async fn wc_counts_like_busybox() {
    let r = sh("printf 'one two\\nthree\\n' > /tmp/w; wc -l /tmp/w; wc -w < /tmp/w; wc -c /tmp/w; wc /tmp/w; echo hi | wc").await;
    assert_eq!(
        r.out(),
        "2 /tmp/w\n3\n14 /tmp/w\n        2         3        14 /tmp/w\n        1         1         3\n"
    );
}

#[tokio::test]
async fn grep_supports_its_common_flags() {
    let sim = busybox();
    let r = sh_in(
        &sim,
        "printf 'apple\\nBanana\\ncherry\\napple pie\\n' > /tmp/g; grep apple /tmp/g; grep -c apple /tmp/g; grep -v a /tmp/g; grep -i banana /tmp/g; grep -n cherry /tmp/g; grep -E 'an+a' /tmp/g; grep -F 'e p' /tmp/g; grep -x apple /tmp/g; grep -w pie /tmp/g; grep -o 'p[a-z]' /tmp/g | head -n 2",
    )
    .await;
    assert_eq!(
        r.out(),
        "apple\napple pie\n2\ncherry\nBanana\n3:cherry\nBanana\napple pie\napple\napple pie\npp\npp\n"
    );
    let r = sh_in(&sim, "grep -q apple /tmp/g; echo $?; grep -q nothing /tmp/g; echo $?; grep x /nope; echo $?; grep -l apple /tmp/g /etc/hostname").await;
    assert_eq!(r.out(), "0\n1\n2\n/tmp/g\n");
    assert_eq!(r.err(), "grep: /nope: No such file or directory\n");
    let r = sh_in(
        &sim,
        "grep '^[A-Z]' /tmp/g; grep 'a\\(pp\\)' /tmp/g | wc -l; echo x | grep -e y -e x",
    )
    .await;
    assert_eq!(r.out(), "Banana\n2\nx\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn cut_selects_fields_and_characters() {
    let r = sh("echo a:b:c:d | cut -d: -f2; echo a:b:c:d | cut -d : -f 1,3-; echo abcdef | cut -c 2-4; echo nodelim | cut -d: -f2; echo nodelim | cut -s -d: -f2").await;
    assert_eq!(r.out(), "b\na:c:d\nbcd\nnodelim\n");
}

#[tokio::test]
async fn tr_translates_deletes_and_squeezes() {
    let r = sh("echo hello | tr a-z A-Z; echo hello | tr -d l; echo aaabbb | tr -s ab; echo 'a b' | tr ' ' '\\n'; echo abc123 | tr -d '[:digit:]'; echo abc | tr -c a x").await;
    assert_eq!(r.out(), "HELLO\nheo\nab\na\nb\nabc\naxxx");
}

#[tokio::test]
async fn sort_and_uniq_order_and_fold_lines() {
    let r = sh("printf 'b\\na\\nc\\na\\n' | sort; printf '10\\n9\\n100\\n' | sort -n; printf 'b\\na\\n' | sort -r; printf 'a\\na\\nb\\na\\n' | uniq -c; printf 'a\\na\\nb\\n' | uniq -d; printf 'b\\na\\nb\\n' | sort -u").await;
    assert_eq!(
        r.out(),
        "a\na\nb\nc\n9\n10\n100\nb\na\n      2 a\n      1 b\n      1 a\na\na\nb\n"
    );
}

#[tokio::test]
async fn env_and_printenv_print_and_modify_the_environment() {
    let r = sh("env -i A=1 B=2 env; env -u PATH env | grep -c PATH; printenv HOSTNAME; printenv NOPE; echo $?; env nope-cmd; echo $?").await;
    assert_eq!(r.out(), "A=1\nB=2\n0\nvm\n1\n127\n");
    assert_eq!(
        r.err(),
        "env: can't execute 'nope-cmd': No such file or directory\n"
    );
}

#[tokio::test]
async fn hostname_uname_nproc_and_basename_print_system_facts() {
    let r = sh("hostname; hostname -s; uname; uname -n; uname -m; basename /a/b/c.txt .txt; basename /; dirname /a/b/c; dirname c; nproc | grep -c '^[0-9]*$'").await;
    assert_eq!(r.out(), "vm\nvm\nLinux\nvm\nx86_64\nc\n/\n/a/b\n.\n1\n");
    let r = sh("hostname other; echo $?").await;
    assert_eq!(
        (r.out(), r.err()),
        (
            "1\n".into(),
            "hostname: sethostname: Operation not permitted\n".into()
        )
    );
}

#[tokio::test]
async fn ls_lists_names_one_per_line_with_a_and_l_variants() {
    let sim = busybox();
    let r = sh_in(&sim, "mkdir -p /tmp/d/sub; touch /tmp/d/f /tmp/d/.hidden; ls /tmp/d; ls -a /tmp/d; ls -1 /tmp/d/f /tmp/d/sub").await;
    assert_eq!(
        r.out(),
        "f\nsub\n.\n..\n.hidden\nf\nsub\n/tmp/d/f\n\n/tmp/d/sub:\n"
    );
    let r = sh_in(
        &sim,
        "ls -l /bin/sh /etc/passwd | cut -c 1-10,11-15,16-33; ls -ld /tmp | cut -c 1-10",
    )
    .await;
    assert_eq!(
        r.out(),
        "lrwxrwxrwx    1 root     root    \n-rw-r--r--    1 root     root    \ndrwxrwxrwt\n"
    );
    let r = sh_in(&sim, "ls -l /bin/sh").await;
    assert!(r.out().ends_with(" /bin/sh -> busybox\n"), "{}", r.out());
    let r = sh_in(&sim, "ls /nope; echo $?").await;
    assert_eq!(
        (r.out(), r.err()),
        (
            "1\n".into(),
            "ls: /nope: No such file or directory\n".into()
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn touch_mkdir_rm_and_rmdir_manage_files() {
    let r = sh(
        "mkdir /tmp/a; mkdir /tmp/a; mkdir /x/y; mkdir -p /x/y/z && ls -d /x/y/z; touch /tmp/a/f; rm /tmp/a; rm -r /tmp/a && ls /tmp/a; rm /nope; rm -f /nope; echo $?; rmdir /x/y/z /x; echo $?",
    )
    .await;
    assert_eq!(r.out(), "/x/y/z\n0\n1\n");
    assert_eq!(
        r.err(),
        "mkdir: can't create directory '/tmp/a': File exists\nmkdir: can't create directory '/x/y': No such file or directory\nrm: '/tmp/a' is a directory\nls: /tmp/a: No such file or directory\nrm: can't remove '/nope': No such file or directory\nrmdir: '/x': Directory not empty\n"
    );
}

#[tokio::test]
async fn cp_mv_ln_and_chmod_work_on_the_container_filesystem() {
    let r = sh(
        "echo data > /tmp/src; cp /tmp/src /tmp/copy; mv /tmp/copy /tmp/moved; cat /tmp/moved; ls /tmp/copy 2>/dev/null || echo gone; ln -s /tmp/moved /tmp/link; cat /tmp/link; readlink /tmp/link; chmod 700 /tmp/moved; stat -c %a /tmp/moved; chmod u-w,g+r /tmp/moved; stat -c '%a %A' /tmp/moved; mkdir /tmp/dir; cp /tmp/src /tmp/dir; ls /tmp/dir; cp -r /tmp/dir /tmp/dir2; ls /tmp/dir2",
    )
    .await;
    assert_eq!(
        r.out(),
        "data\ngone\ndata\n/tmp/moved\n700\n540 -r-xr-----\nsrc\nsrc\n"
    );
}

#[tokio::test]
async fn test_and_bracket_evaluate_file_string_and_number_tests() {
    let r = sh(
        "[ -e /etc/passwd ] && echo e; [ -f /etc ] || echo notfile; [ -d /etc ] && echo d; [ -z '' ] && echo z; [ -n x ] && echo n; [ -x /bin/sh ] && echo x; [ -x /etc/passwd ] || echo notx; [ a = a ] && echo eq; [ a != b ] && echo ne; [ 3 -lt 10 ] && echo lt; [ 10 -ge 10 ] && echo ge; [ ! -e /nope ] && echo not; [ -r /etc/passwd -a -w /tmp ] && echo and; test 1 -eq 2 -o 2 -eq 2 && echo or; [ \\( 1 -eq 1 \\) ] && echo paren",
    )
    .await;
    assert_eq!(
        r.out(),
        "e\nnotfile\nd\nz\nn\nx\nnotx\neq\nne\nlt\nge\nnot\nand\nor\nparen\n"
    );
    let r = sh("[ 1 -eq a ]; echo $?; [ 1 = 1; echo $?").await;
    assert_eq!(r.out(), "2\n2\n");
    assert_eq!(r.err(), "sh: a: bad number\nsh: missing ]\n");
    let r = run(&["[", "x"]).await;
    assert_eq!((r.err(), r.code()), ("[: missing ]\n".into(), 2));
}

#[tokio::test(start_paused = true)]
async fn ps_pgrep_pidof_and_pkill_see_the_process_table() {
    let sim = busybox();
    let main = sim.spawn(&argv(&["sleep", "1000"]), Stdio::null()).unwrap();
    let r = run_in(
        &sim,
        &[
            "sh",
            "-c",
            "ps -o pid,ppid,comm; pidof sleep; pgrep -l sleep; pkill sleep; echo $?",
        ],
    )
    .await;
    assert_eq!(
        r.out(),
        "  PID  PPID COMMAND\n    1     0 sleep\n    2     0 sh\n    3     2 ps\n1\n1 sleep\n0\n"
    );
    assert_eq!(main.wait().await.code(), 143);
    let r = run_in(&sim, &["pidof", "sleep"]).await;
    assert_eq!((r.out(), r.code()), ("".into(), 1));
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn top_prints_frames_until_its_iteration_count() {
    let sim = busybox();
    let r = run_in(&sim, &["top", "-b", "-n", "2", "-d", "1"]).await;
    let out = r.out();
    assert_eq!(out.matches("Load average:").count(), 2);
    assert!(out.contains("  PID  PPID USER     STAT   VSZ %VSZ CPU %CPU COMMAND\n    1     0 root     R     1328   0%   0   0% top -b -n 2 -d 1\n"), "{out}");
    let p = sim.spawn(&argv(&["top"]), Stdio::null()).unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(p.try_status(), None);
    p.signal(crate::process::Signal::SIGTERM);
    assert_eq!(p.wait().await.code(), 143);
    sim.shutdown().await;
}

#[tokio::test]
async fn date_formats_with_strftime_conversions() {
    let r = sh("date -d @0 '+%Y-%m-%d %H:%M:%S %a %b %j %s'; date -d @0").await;
    assert_eq!(
        r.out(),
        "1970-01-01 00:00:00 Thu Jan 001 0\nThu Jan  1 00:00:00 UTC 1970\n"
    );
}

#[tokio::test]
async fn tee_copies_stdin_to_files_and_stdout() {
    let sim = busybox();
    let r = run_with_input(
        &sim,
        &["sh", "-c", "tee /tmp/t1 /tmp/t2; cat /tmp/t2"],
        Input::from_bytes("line\n"),
    )
    .await;
    assert_eq!(r.out(), "line\nline\n");
    assert_eq!(sim.read_file("/tmp/t1").as_deref(), Some(&b"line\n"[..]));
    sim.shutdown().await;
}

#[tokio::test]
async fn xargs_runs_the_command_with_the_input_words() {
    let r = sh("printf 'a b\\nc\\n' | xargs echo got; printf '1\\n2\\n' | xargs -n 1 echo n; printf 'x\\n' | xargs -I{} echo [{}]").await;
    assert_eq!(r.out(), "got a b c\nn 1\nn 2\n[x]\n");
}

#[tokio::test(start_paused = true)]
async fn timeout_signals_a_command_that_runs_too_long() {
    let r = sh("timeout 1 sleep 10; echo $?; timeout 5 true; echo $?").await;
    assert_eq!(r.out(), "143\n0\n");
}

#[tokio::test]
async fn usage_errors_print_busybox_usage_and_exit_1() {
    let r = run(&["sleep"]).await;
    assert_eq!(r.status, ExitStatus::Exited(1));
    assert!(r.err().contains("Usage: sleep [N]..."), "{}", r.err());
}

#[tokio::test]
async fn mktemp_creates_unique_files_and_directories() {
    let r = sh("f=$(mktemp); test -f $f && echo file; d=$(mktemp -d); test -d $d && echo dir; case $f in /tmp/tmp.??????) echo named;; esac").await;
    assert_eq!(r.out(), "file\ndir\nnamed\n");
}

#[tokio::test]
async fn wget_and_nc_fail_like_a_container_without_a_network() {
    let r = sh("wget -q -O - http://example.com/x; echo $?; wget http://localhost:8080/; nc db 5432; echo $?").await;
    assert_eq!(r.out(), "1\n1\n");
    assert_eq!(
        r.err(),
        "wget: bad address 'example.com'\nConnecting to localhost:8080 (127.0.0.1:8080)\nwget: can't connect to remote host (127.0.0.1): Connection refused\nnc: bad address 'db'\n"
    );
}

#[tokio::test]
async fn sort_of_a_big_input_is_oom_killed_under_a_memory_limit() {
    let sim = super::sim_with(crate::process::SimSpec {
        memory_limit_bytes: 8 << 20,
        ..super::busybox_spec()
    });
    let r = sh_in(&sim, "yes | head -c 33554432 | sort | head -n 1; echo done").await;
    assert_eq!((r.out(), r.err()), ("done\n".into(), "Killed\n".into()));
    assert!(sim.oom_killed());
    sim.shutdown().await;
}

/// A System V shared memory segment on the real host, removed when dropped.
struct HostSegment(i32);

impl HostSegment {
    fn new() -> HostSegment {
        // SAFETY: shmget takes no pointers; a new private segment of one page.
        let id = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) };
        assert!(id >= 0, "shmget failed");
        HostSegment(id)
    }
}

impl Drop for HostSegment {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID ignores the buffer argument.
        unsafe { libc::shmctl(self.0, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

#[tokio::test]
async fn ipcs_m_in_a_host_ipc_container_lists_the_hosts_segments() {
    let segment = HostSegment::new();
    let sim = super::sim_with(crate::process::SimSpec {
        host_ipc: true,
        ..super::busybox_spec()
    });
    let r = super::run_in(&sim, &["ipcs", "-m"]).await;
    sim.shutdown().await;
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let owner = if uid == 0 {
        "root".to_owned()
    } else {
        uid.to_string()
    };
    let row = format!(
        "0x00000000 {:<10} {owner:<10} 600        4096       0",
        segment.0
    );
    assert_eq!(r.code(), 0);
    assert!(
        r.out()
            .starts_with("\n------ Shared Memory Segments --------\n")
    );
    assert!(r.out().lines().any(|l| l.starts_with(&row)), "{}", r.out());
}

#[tokio::test]
async fn ipcs_in_a_pod_ipc_container_lists_nothing_of_the_hosts() {
    let _segment = HostSegment::new();
    let r = super::sh("ipcs; echo $?").await;
    assert_eq!(
        r.out(),
        "\n------ Message Queues --------\n\
         key        msqid      owner      perms      used-bytes   messages    \n\n\
         ------ Shared Memory Segments --------\n\
         key        shmid      owner      perms      bytes      nattch     status      \n\n\
         ------ Semaphore Arrays --------\n\
         key        semid      owner      perms      nsems     \n\n\
         0\n"
    );
}
