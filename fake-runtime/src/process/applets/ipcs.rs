//! `ipcs`: busybox 1.36's listing of System V IPC objects (message queues, shared
//! memory segments, semaphore arrays), in its default format.
//!
//! A container sharing the node's IPC namespace ([`System::host_ipc`]) lists the real
//! host's objects, read from the host's `/proc/sysvipc/{msg,shm,sem}` (never
//! changed); a container in its pod's IPC namespace lists that namespace's objects,
//! and the simulation creates none (no `ipcmk`, `shmget`), so its sections are
//! empty. Owners are named from the container's `/etc/passwd`, as busybox's
//! `getpwuid` does. Deliberate difference: the other formats (`-t`, `-c`, `-p`, `-l`,
//! `-u`) and `-i ID` are not simulated; they fail with status 1 and say so.
//!
//! [`System::host_ipc`]: crate::process::program::System::host_ipc

use super::Env;
use crate::process::ExitStatus;
use crate::process::host::HostFile;
use crate::process::program::Programs;

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("ipcs", ipcs);
}

const USAGE: &str = "ipcs [[-smq] -i SHMID] | [[-asmq] [-tcplu]]";

/// The rows of a `/proc/sysvipc` table, as name-to-value maps keyed by its header.
fn rows(text: &str) -> Vec<Vec<(String, String)>> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let names: Vec<&str> = header.split_whitespace().collect();
    lines
        .map(|line| {
            names
                .iter()
                .zip(line.split_whitespace())
                .map(|(n, v)| ((*n).to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn field<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
    row.iter()
        .find(|(n, _)| n == name)
        .map_or("0", |(_, v)| v.as_str())
}

fn num(row: &[(String, String)], name: &str) -> i64 {
    field(row, name).parse().unwrap_or(0)
}

/// The key as busybox prints it: `0x%08x` of the 32-bit key (the table has it signed).
fn key(row: &[(String, String)]) -> String {
    let key = num(row, "key");
    format!("0x{:08x}", key as i32 as u32)
}

/// `perms` is octal in the table.
fn mode(row: &[(String, String)]) -> u32 {
    u32::from_str_radix(field(row, "perms"), 8).unwrap_or(0)
}

/// uid-to-name from the container's `/etc/passwd`.
fn passwd(env: &Env) -> Vec<(i64, String)> {
    let data = env
        .sys
        .vfs()
        .read_to_end("/etc/passwd", env.sys.access())
        .unwrap_or_default();
    String::from_utf8_lossy(&data)
        .lines()
        .filter_map(|line| {
            let mut f = line.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            Some((uid, name.to_owned()))
        })
        .collect()
}

/// `%-10d %-10.10s` (or `%-10d %-10d` for an unnamed uid): the id and the owner.
fn id_owner(
    id: i64,
    uid: i64,
    users: &[(i64, String)],
    name_width: usize,
    uid_width: usize,
) -> String {
    match users.iter().find(|(u, _)| *u == uid) {
        Some((_, name)) => {
            let name: String = name.chars().take(name_width).collect();
            format!("{id:<10} {name:<10}")
        }
        None => format!("{id:<10} {uid:<uid_width$}"),
    }
}

fn messages(out: &mut String, text: &str, users: &[(i64, String)]) {
    out.push_str("------ Message Queues --------\n");
    out.push_str(&format!(
        "{:<10} {:<10} {:<10} {:<10} {:<12} {:<12}\n",
        "key", "msqid", "owner", "perms", "used-bytes", "messages"
    ));
    for row in rows(text) {
        out.push_str(&format!(
            "{} {} {:<10o} {:<12} {:<12}\n",
            key(&row),
            id_owner(num(&row, "msqid"), num(&row, "uid"), users, 10, 10),
            mode(&row) & 0o777,
            num(&row, "cbytes"),
            num(&row, "qnum")
        ));
    }
}

fn shared_memory(out: &mut String, text: &str, users: &[(i64, String)]) {
    out.push_str("------ Shared Memory Segments --------\n");
    out.push_str(&format!(
        "{:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {:<12}\n",
        "key", "shmid", "owner", "perms", "bytes", "nattch", "status"
    ));
    for row in rows(text) {
        let mode = mode(&row);
        out.push_str(&format!(
            "{} {} {:<10o} {:<10} {:<10} {:<6} {:<6}\n",
            key(&row),
            id_owner(num(&row, "shmid"), num(&row, "uid"), users, 10, 10),
            mode & 0o777,
            field(&row, "size").parse::<u64>().unwrap_or(0),
            num(&row, "nattch"),
            if mode & 0o1000 != 0 { "dest" } else { " " },
            if mode & 0o2000 != 0 { "locked" } else { " " }
        ));
    }
}

fn semaphores(out: &mut String, text: &str, users: &[(i64, String)]) {
    out.push_str("------ Semaphore Arrays --------\n");
    out.push_str(&format!(
        "{:<10} {:<10} {:<10} {:<10} {:<10}\n",
        "key", "semid", "owner", "perms", "nsems"
    ));
    for row in rows(text) {
        out.push_str(&format!(
            "{} {} {:<10o} {:<10}\n",
            key(&row),
            id_owner(num(&row, "semid"), num(&row, "uid"), users, 9, 9),
            mode(&row) & 0o777,
            num(&row, "nsems")
        ));
    }
}

async fn ipcs(ctx: super::ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let (mut msg, mut shm, mut sem, mut all) = (false, false, false, false);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    for arg in &args {
        let Some(letters) = arg.strip_prefix('-').filter(|l| !l.is_empty()) else {
            // busybox ignores operands.
            continue;
        };
        for c in letters.chars() {
            match c {
                'q' => msg = true,
                'm' => shm = true,
                's' => sem = true,
                'a' => all = true,
                't' | 'c' | 'p' | 'l' | 'u' | 'i' => {
                    env.error(format!("-{c}: not simulated")).await;
                    return ExitStatus::Exited(1);
                }
                other => {
                    env.error(format!("invalid option -- '{other}'")).await;
                    return env.usage(USAGE).await;
                }
            }
        }
    }
    if all || !(msg || shm || sem) {
        (msg, shm, sem) = (true, true, true);
    }
    let host = env.sys.host_ipc();
    let read = |file: HostFile| if host { file.read() } else { String::new() };
    let users = passwd(&env);
    let mut out = String::from("\n");
    if msg {
        messages(&mut out, &read(HostFile::Msg), &users);
        out.push('\n');
    }
    if shm {
        shared_memory(&mut out, &read(HostFile::Shm), &users);
        out.push('\n');
    }
    if sem {
        semaphores(&mut out, &read(HostFile::Sem), &users);
        out.push('\n');
    }
    if env.out.write(out.as_bytes()).await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(0).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHM: &str = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n\
        2059692601          0   644               1048576  3563     0      0     0     0     0     0          0          0 1796657670                     0                     0\n\
        -1793456796          7  1600                  4096  3564     0      2  1234     0     0     0          0          0 1796657670                     0                     0\n";

    #[test]
    fn shared_memory_rows_print_in_busyboxs_columns() {
        let mut out = String::new();
        shared_memory(&mut out, SHM, &[(0, "root".to_owned())]);
        assert_eq!(
            out,
            "------ Shared Memory Segments --------\n\
             key        shmid      owner      perms      bytes      nattch     status      \n\
             0x7ac46a39 0          root       644        1048576    0                       \n\
             0x951a0564 7          1234       600        4096       2          dest         \n"
        );
    }

    #[test]
    fn semaphore_owner_names_are_cut_to_nine_characters() {
        let mut out = String::new();
        let table = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n\
                     0 3 600 2 1000 0 0 0 0 0\n";
        semaphores(&mut out, table, &[(1000, "averylongname".to_owned())]);
        assert!(
            out.ends_with("0x00000000 3          averylong  600        2         \n"),
            "{out:?}"
        );
    }
}
