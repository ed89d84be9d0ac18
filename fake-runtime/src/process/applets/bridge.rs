//! `brctl`: Ethernet bridges of the container's network namespace, as busybox 1.36's
//! `brctl` manages them (`addbr`, `delbr`, `show`). Creating or deleting a bridge is
//! the `SIOCBRADDBR`/`SIOCBRDELBR` ioctl, which needs `CAP_NET_ADMIN`
//! (`brctl: bridge foobar: Operation not permitted`, exit 1).
//!
//! busybox reads the bridges from `/sys/class/net`, which the simulated `/sys` does not
//! have: the namespace keeps them (see [`Network::add_bridge`](crate::process::net::Network::add_bridge)),
//! and `addif`/`delif`, which need an interface to enslave, fail as for a missing one.

use super::Env;
use crate::process::ExitStatus;
use crate::process::program::ProgramContext;
use crate::process::seccomp::strerror;

const USAGE: &str = "brctl COMMAND [BRIDGE [ARGS]]";

/// `IFNAMSIZ - 1`: the kernel cuts a longer bridge name there.
const IFNAME_MAX: usize = 15;

/// The simulated bridge id: priority 8000 and a MAC derived from the name (a bridge
/// without ports has a random one in the kernel).
fn bridge_id(name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mac = (h & 0x00ff_ffff_ffff) | 0x0200_0000_0000;
    format!("8000.{mac:012x}")
}

fn cut(name: &str) -> String {
    let mut end = name.len().min(IFNAME_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

pub(super) async fn brctl(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let Some(command) = args.first() else {
        return env.usage(USAGE).await;
    };
    const KEYWORDS: &[&str] = &[
        "addbr",
        "delbr",
        "addif",
        "delif",
        "stp",
        "showstp",
        "setageing",
        "setfd",
        "sethello",
        "setmaxage",
        "setpathcost",
        "setportprio",
        "setbridgeprio",
        "showmacs",
        "show",
    ];
    if !KEYWORDS.contains(&command.as_str()) {
        env.error(format!("invalid argument '{command}' to 'brctl'"))
            .await;
        return ExitStatus::Exited(1);
    }
    let network = std::sync::Arc::clone(env.sys.network());
    if command == "show" {
        let mut text = String::new();
        let mut status = 0;
        let bridges = network.bridges();
        let wanted: Vec<String> = if args.len() > 1 {
            args[1..].to_vec()
        } else {
            bridges.clone()
        };
        let mut header = true;
        for name in wanted {
            if !bridges.contains(&name) {
                let _ = env.out.flush().await;
                env.error(format!("bridge {name} does not exist")).await;
                status = 1;
                continue;
            }
            if header {
                text += "bridge name\tbridge id\t\tSTP enabled\tinterfaces\n";
                header = false;
            }
            text += &format!("{name}\t\t{}\tno\t\t\n", bridge_id(&name));
        }
        if env.print(&text).await.is_err() {
            return env.sigpipe().await;
        }
        return env.finish(status).await;
    }
    let Some(bridge) = args.get(1) else {
        return env.usage(USAGE).await;
    };
    let result = match command.as_str() {
        "addbr" | "delbr" => {
            if !env.sys.capable("NET_ADMIN") {
                Err(1)
            } else if command == "addbr" {
                network.add_bridge(&cut(bridge))
            } else {
                network.delete_bridge(&cut(bridge))
            }
        }
        "showmacs" | "showstp" => {
            env.error(format!("bridge {bridge} does not exist")).await;
            return ExitStatus::Exited(1);
        }
        _ => {
            let Some(port) = args.get(2) else {
                return env.usage(USAGE).await;
            };
            if command == "addif" || command == "delif" {
                // No interface but `lo` exists to be enslaved: if_nametoindex fails.
                env.error(format!("iface {port}: No such device")).await;
                return ExitStatus::Exited(1);
            }
            // The settings write /sys/class/net/BR/..., which does not exist.
            env.error(format!(
                "can't open '{bridge}/bridge/': No such file or directory"
            ))
            .await;
            return ExitStatus::Exited(1);
        }
    };
    match result {
        Ok(()) => env.finish(0).await,
        Err(errno) => {
            env.error(format!("bridge {bridge}: {}", strerror(errno)))
                .await;
            ExitStatus::Exited(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::process::tests::{busybox_spec, run_in, sim_with};
    use crate::process::{ExitStatus, SecuritySpec, SimSpec};

    fn with(security: SecuritySpec) -> SimSpec {
        SimSpec {
            security,
            ..busybox_spec()
        }
    }

    #[tokio::test]
    async fn addbr_without_net_admin_is_not_permitted_as_busybox_reports_it() {
        let sim = sim_with(busybox_spec());
        let r = run_in(&sim, &["brctl", "addbr", "foobar"]).await;
        assert_eq!(r.status, ExitStatus::Exited(1));
        assert_eq!(r.err(), "brctl: bridge foobar: Operation not permitted\n");
        assert_eq!(r.out(), "");
        let r = run_in(&sim, &["brctl", "show"]).await;
        assert_eq!((r.code(), r.out()), (0, String::new()));
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn with_net_admin_bridges_are_added_shown_and_deleted() {
        let sim = sim_with(with(SecuritySpec {
            add_capabilities: vec!["NET_ADMIN".into()],
            ..Default::default()
        }));
        let r = run_in(&sim, &["brctl", "addbr", "foobar"]).await;
        assert_eq!(
            (r.code(), r.out(), r.err()),
            (0, String::new(), String::new())
        );
        let r = run_in(&sim, &["brctl", "addbr", "foobar"]).await;
        assert_eq!(
            (r.code(), r.err()),
            (1, "brctl: bridge foobar: File exists\n".into())
        );
        let r = run_in(&sim, &["brctl", "show"]).await;
        assert_eq!(
            r.out(),
            format!(
                "bridge name\tbridge id\t\tSTP enabled\tinterfaces\nfoobar\t\t{}\tno\t\t\n",
                super::bridge_id("foobar")
            )
        );
        let r = run_in(&sim, &["brctl", "delbr", "foobar"]).await;
        assert_eq!((r.code(), r.err()), (0, String::new()));
        let r = run_in(&sim, &["brctl", "delbr", "foobar"]).await;
        assert_eq!(
            (r.code(), r.err()),
            (
                1,
                "brctl: bridge foobar: No such device or address\n".into()
            )
        );
        let r = run_in(&sim, &["brctl", "show", "foobar"]).await;
        assert_eq!(
            (r.code(), r.err()),
            (1, "brctl: bridge foobar does not exist\n".into())
        );
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn privileged_containers_may_add_bridges_and_unknown_commands_are_refused() {
        let sim = sim_with(with(SecuritySpec {
            privileged: true,
            ..Default::default()
        }));
        let r = run_in(&sim, &["brctl", "addbr", "br0"]).await;
        assert_eq!((r.code(), r.err()), (0, String::new()));
        let r = run_in(&sim, &["brctl", "frobnicate"]).await;
        assert_eq!(
            (r.code(), r.err()),
            (
                1,
                "brctl: invalid argument 'frobnicate' to 'brctl'\n".into()
            )
        );
        let r = run_in(&sim, &["brctl"]).await;
        assert_eq!(r.code(), 1);
        assert!(
            r.err().ends_with("Usage: brctl COMMAND [BRIDGE [ARGS]]\n"),
            "{}",
            r.err()
        );
        sim.shutdown().await;
    }
}
