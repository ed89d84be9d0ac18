//! Container lifecycle: Create, Start, Stop, Remove, Status, List,
//! UpdateContainerResources and ReopenContainerLog, with containerd's checks, texts and
//! codes (reference §3, §4, §5, §7, §9).
//!
//! Every (state x operation) decision is in one function, `decide`; the RPC methods carry the
//! decision out (and run the simulated process, outside the store lock).

use std::collections::HashMap;
use std::sync::Arc;

use cri_proto::v1::{
    Container, ContainerConfig, ContainerFilter, ContainerResources, ContainerState,
    ContainerStatsFilter, ContainerStatus, ContainerStatusResponse, ContainerUser, ImageSpec,
    LinuxContainerResources, LinuxContainerUser, PodSandboxConfig,
};
use tokio::sync::watch;

use crate::core::container_io::ContainerIo;
use crate::core::error::{CriError, LookupError, go_quote};
use crate::core::hooks::{Purpose, Spawn};
use crate::core::images::{Image, Rootfs};
use crate::core::list_encode::ListedFields;
use crate::core::logs::{ContainerLog, LogStream};
use crate::core::profile::{Dialect, StoppedSandboxCreate};
use crate::core::proto_json::to_json;
use crate::core::runtime::{Runtime, now_ns};
use crate::core::sandbox::{labels_match, namespace_options};
use crate::core::state::{
    ContainerPhase, ContainerRecord, Inner, KeptConfig, SandboxPhase, SpecProcess, new_id,
};
use crate::process::net::Network;
use crate::process::pipe::{Input, Output, OutputReader, Window};
use crate::process::{
    ContainerSim, DnsSpec, FileSeed, MountSpec, ProcessHandle, Signal, SimSpec, Stdio, UserSpec,
    rootfs,
    users::{self, SpecUser, SpecUserError, UserRequest},
};

/// The running part of a started container: its process world, main process and log.
#[derive(Debug)]
pub struct ContainerProcess {
    /// The container's simulated process world (exec runs here too).
    pub sim: Arc<ContainerSim>,
    /// The main process.
    pub main: ProcessHandle,
    /// The CRI log file, when logging is on.
    pub log: Option<ContainerLog>,
    /// The simulated host pid of the main process.
    pub host_pid: u32,
    /// The main process's stdio, for attach.
    pub io: Arc<ContainerIo>,
    exited: watch::Receiver<bool>,
}

impl ContainerProcess {
    /// Waits until the container's exit has been recorded (status EXITED, logs flushed).
    pub async fn wait_recorded_exit(&self) {
        let mut exited = self.exited.clone();
        // An error means the monitor is gone, which only happens after it recorded.
        let _ = exited.wait_for(|done| *done).await;
    }
}

/// The name containerd reserves for a container: `<ctr>_<pod>_<ns>_<uid>_<attempt>`,
/// with the pod part taken from the request's sandbox config.
pub(crate) fn container_reserved_name(
    config: &ContainerConfig,
    sandbox: &PodSandboxConfig,
) -> Option<String> {
    let c = config.metadata.as_ref()?;
    let p = sandbox.metadata.clone().unwrap_or_default();
    Some(format!(
        "{}_{}_{}_{}_{}",
        c.name, p.name, p.namespace, p.uid, c.attempt
    ))
}

/// What an operation does to a container in a given state.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// Nothing to do; the call succeeds.
    Nothing,
    /// The call fails with this error.
    Fail(CriError),
    /// Start the container.
    Start,
    /// Stop (or kill) the running container.
    Stop,
    /// Kill it first if running, then remove it.
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Start,
    Stop,
    Remove,
}

/// The one place every (state x operation) pair is decided.
fn decide(op: Operation, phase: ContainerPhase, id: &str) -> Decision {
    use ContainerPhase::*;
    let starting_error = |state: &str| {
        Decision::Fail(CriError::unknown(format!(
            "failed to set starting state for container {}: container is in {state} state",
            go_quote(id)
        )))
    };
    match (op, phase) {
        (Operation::Start, Created) => Decision::Start,
        (Operation::Start, Starting) => Decision::Fail(CriError::unknown(format!(
            "failed to set starting state for container {}: container is already in starting state",
            go_quote(id)
        ))),
        (Operation::Start, Running | Exited) => starting_error(phase.to_cri().as_str_name()),
        (Operation::Stop, Created | Exited) => Decision::Nothing,
        (Operation::Stop, Starting | Running) => Decision::Stop,
        (Operation::Remove, _) => Decision::Remove,
    }
}

fn find_container_error<'a>(
    dialect: &'a Dialect,
    prefix: &'a str,
) -> impl Fn(LookupError) -> CriError + 'a {
    move |e| {
        e.with_prefix(
            dialect,
            format!(
                "an error occurred when try to find container {}",
                go_quote(prefix)
            ),
        )
    }
}

/// The process arguments containerd derives from the config and the image.
fn process_args(config: &ContainerConfig, image: &Image) -> Vec<String> {
    let mut command = config.command.clone();
    let mut args = config.args.clone();
    if command.is_empty() {
        if args.is_empty() {
            args = image.config.cmd.clone();
        }
        let entrypoint = &image.config.entrypoint;
        if !(entrypoint.len() == 1 && entrypoint[0].is_empty()) {
            command = entrypoint.clone();
        }
    }
    command.extend(args);
    command
}

/// The OCI spec process containerd builds at create time from `config` and `image`.
fn spec_process(config: &ContainerConfig, image: &Image, user: SpecUser) -> SpecProcess {
    let cwd = [&config.working_dir, &image.config.working_dir]
        .into_iter()
        .find(|dir| !dir.is_empty())
        .cloned()
        .unwrap_or_else(|| "/".to_owned());
    SpecProcess {
        args: process_args(config, image),
        env: merge_env(
            &image.config.env,
            config
                .envs
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone())),
        ),
        cwd,
        user,
    }
}

/// Merges `update` into `current` the way containerd does: zero fields leave values
/// unchanged, and a memory limit without a swap limit sets swap equal to it.
pub(crate) fn merge_resources(
    current: &LinuxContainerResources,
    update: &LinuxContainerResources,
) -> LinuxContainerResources {
    let mut merged = current.clone();
    let zero = LinuxContainerResources::default();
    macro_rules! take_nonzero {
        ($($field:ident),*) => {$(
            if update.$field != zero.$field {
                merged.$field = update.$field.clone();
            }
        )*};
    }
    take_nonzero!(
        cpu_period,
        cpu_quota,
        cpu_shares,
        memory_limit_in_bytes,
        oom_score_adj,
        cpuset_cpus,
        cpuset_mems,
        memory_swap_limit_in_bytes
    );
    if !update.hugepage_limits.is_empty() {
        merged.hugepage_limits = update.hugepage_limits.clone();
    }
    if !update.unified.is_empty() {
        merged.unified = update.unified.clone();
    }
    if update.memory_limit_in_bytes != 0 && update.memory_swap_limit_in_bytes == 0 {
        merged.memory_swap_limit_in_bytes = update.memory_limit_in_bytes;
    }
    merged
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// Merges `KEY=VALUE` lists: later keys replace earlier ones in place.
fn merge_env(
    base: &[String],
    overrides: impl IntoIterator<Item = (String, String)>,
) -> Vec<String> {
    let mut env: Vec<String> = base.to_vec();
    for (key, value) in overrides {
        let entry = format!("{key}={value}");
        match env
            .iter_mut()
            .find(|e| e.split_once('=').map(|(k, _)| k) == Some(key.as_str()))
        {
            Some(existing) => *existing = entry,
            None => env.push(entry),
        }
    }
    env
}

/// Everything a start needs, copied out of the store under the lock.
struct StartPlan {
    id: String,
    config: ContainerConfig,
    sandbox_config: PodSandboxConfig,
    /// The pod's network namespace.
    network: Arc<Network>,
    /// The pod's PID namespace.
    pod_pids: Option<Arc<crate::process::pidns::PidNamespace>>,
    image: Option<Image>,
    resources: LinuxContainerResources,
    log_path: String,
    /// The spec's user, from CreateContainer.
    user: SpecUser,
    /// The seccomp profile, from CreateContainer.
    seccomp: Option<Arc<crate::process::seccomp::SeccompProfile>>,
}

impl Runtime {
    /// CreateContainer.
    pub fn create_container(
        &self,
        sandbox_prefix: &str,
        config: Option<ContainerConfig>,
        sandbox_config: Option<PodSandboxConfig>,
    ) -> Result<String, CriError> {
        let id = new_id();
        let created = self.store.write(|s| {
            let sandbox = s.resolve_sandbox(sandbox_prefix).map_err(|e| {
                e.with_prefix(self.dialect(), format!("failed to find sandbox id {}", go_quote(sandbox_prefix)))
            })?;
            if sandbox.phase != SandboxPhase::Ready {
                return Err(match self.dialect().stopped_sandbox_create {
                    StoppedSandboxCreate::NoRunningTask => CriError::not_found(format!(
                        "failed to get sandbox container task: no running task found: task {} not found: not found",
                        sandbox.id
                    )),
                    StoppedSandboxCreate::NotRunning => CriError::unknown(format!(
                        "sandbox container {} is not running",
                        go_quote(&sandbox.id)
                    )),
                });
            }
            let sandbox_id = sandbox.id.clone();
            let config = config.unwrap_or_default();
            if config.metadata.is_none() {
                return Err(CriError::unknown("container config must include metadata"));
            }
            // containerd dereferences the request's sandbox config here (and crashes
            // without one); the fake reports an error instead.
            let Some(request_sandbox_config) = sandbox_config else {
                return Err(CriError::unknown(self.dialect().missing_sandbox_config));
            };
            let reserved_name = container_reserved_name(&config, &request_sandbox_config)
                .unwrap_or_default();
            s.container_names.reserve(&reserved_name, &id).map_err(|held| {
                CriError::new(
                    self.dialect().name_conflict_code,
                    self.dialect()
                        .container_name_conflict(&reserved_name, &held.holder),
                )
            })?;
            let image_requested = config.image.as_ref().map(|i| i.image.clone()).unwrap_or_default();
            // 2.3 resolves a non-empty image once more in its checkpoint-image check,
            // whose failure carries the check's prefix; an empty one skips that check.
            let image_prefix = if image_requested.is_empty() {
                ""
            } else {
                self.dialect().create_image_error_prefix
            };
            let image = match s.images.resolve(&image_requested) {
                Ok(Some(image)) => image.clone(),
                Ok(None) => {
                    s.container_names.release(&reserved_name);
                    return Err(CriError::not_found(format!(
                        "{image_prefix}failed to resolve image {}: not found",
                        go_quote(&image_requested)
                    )));
                }
                Err(e) => {
                    s.container_names.release(&reserved_name);
                    return Err(CriError::unknown(format!(
                        "{image_prefix}failed to resolve image {}: {e}",
                        go_quote(&image_requested)
                    )));
                }
            };
            if process_args(&config, &image).is_empty() {
                s.container_names.release(&reserved_name);
                return Err(CriError::unknown(format!(
                    "failed to generate container {} spec: no command specified",
                    go_quote(&id)
                )));
            }
            // The spec's user is built after the spec itself (its options are applied when
            // containerd creates the container), so its failures come after the above.
            let user = match spec_user(self.dialect(), &config, &image) {
                Ok(user) => user,
                Err(e) => {
                    s.container_names.release(&reserved_name);
                    return Err(CriError::unknown(e.create_message()));
                }
            };
            // The seccomp profile is read when containerd applies the spec options, after
            // the user's.
            let security = config
                .linux
                .as_ref()
                .and_then(|l| l.security_context.clone())
                .unwrap_or_default();
            let seccomp = match crate::core::security::load_seccomp(&security) {
                Ok(seccomp) => seccomp,
                Err(message) => {
                    s.container_names.release(&reserved_name);
                    return Err(CriError::unknown(message));
                }
            };
            // The log directory is the one in the request's sandbox config, not the one
            // the sandbox was run with (containerd reads the request).
            let log_path = crate::core::logs::cri_log_path(
                &request_sandbox_config.log_directory,
                &config.log_path,
            );
            let mut resources = config
                .linux
                .as_ref()
                .and_then(|l| l.resources.clone())
                .unwrap_or_default();
            resources = merge_resources(&LinuxContainerResources::default(), &resources);
            let stop_signal = if image.config.stop_signal.is_empty() {
                "SIGTERM".to_owned()
            } else {
                image.config.stop_signal.clone()
            };
            let spec_process = spec_process(&config, &image, user);
            let mut record = ContainerRecord {
                id: id.clone(),
                sandbox_id,
                config: KeptConfig::new(config),
                reserved_name,
                image_requested,
                image_id: image.id.clone(),
                stop_signal,
                spec_process,
                seccomp,
                phase: ContainerPhase::Created,
                created_at: now_ns(),
                started_at: 0,
                finished_at: 0,
                exit_code: 0,
                reason: String::new(),
                message: String::new(),
                resources,
                log_path,
                stop_signal_sent: false,
                removing: false,
                process: None,
                listed: ListedFields::default(),
            };
            record.listed = ListedFields::of(self.dialect(), &record);
            s.insert_container(record);
            Ok(id.clone())
        });
        if created.is_ok() {
            self.emit_event(
                &id,
                cri_proto::v1::ContainerEventType::ContainerCreatedEvent,
            );
        }
        created
    }

    /// StartContainer: runs the container's command in a new process world.
    pub async fn start_container(self: &Arc<Self>, prefix: &str) -> Result<(), CriError> {
        let plan = self.store.write(|s| {
            let record = s
                .resolve_container(prefix)
                .map_err(find_container_error(self.dialect(), prefix))?;
            let id = record.id.clone();
            match decide(Operation::Start, record.phase, &id) {
                Decision::Start => {}
                Decision::Fail(e) => return Err(e),
                other => unreachable_decision(other),
            }
            let sandbox = s.sandboxes.get(&record.sandbox_id);
            let sandbox_ready = sandbox.is_some_and(|sb| sb.phase == SandboxPhase::Ready);
            let sandbox_config = sandbox.map(|sb| sb.config.full()).unwrap_or_default();
            let network = sandbox.map_or_else(Network::new, |sb| sb.network.clone());
            let pod_pids = sandbox.map(|sb| sb.pid_namespace.clone());
            // What CreateContainer took from the image stays, even once it is removed.
            let image = s.images.known(&record.image_id).cloned();
            let record = s
                .containers
                .get_mut(&id)
                .ok_or_else(|| CriError::not_found("not found"))?;
            if !sandbox_ready {
                let message = format!(
                    "sandbox container {} is not running",
                    go_quote(&record.sandbox_id)
                );
                mark_start_error(record, &message);
                return Err(CriError::unknown(message));
            }
            record.phase = ContainerPhase::Starting;
            Ok(StartPlan {
                id,
                config: record.config.full(),
                sandbox_config,
                network,
                pod_pids,
                image,
                resources: record.resources.clone(),
                log_path: record.log_path.clone(),
                user: record.spec_process.user.clone(),
                seccomp: record.seccomp.clone(),
            })
        })?;
        match self.launch(&plan) {
            Ok(process) => {
                let host_pid = process.host_pid;
                let process = Arc::new(process);
                self.store.write(|s| {
                    if let Some(record) = s.containers.get_mut(&plan.id) {
                        // A process that ended at once may already be recorded as exited
                        // by its monitor; it stays exited (with finished_at before
                        // started_at, as containerd reports such containers).
                        if record.phase == ContainerPhase::Starting {
                            record.phase = ContainerPhase::Running;
                        }
                        record.started_at = now_ns();
                        record.process = Some(process.clone());
                    }
                });
                tracing::debug!(container = %plan.id, host_pid, "container started");
                self.emit_event(
                    &plan.id,
                    cri_proto::v1::ContainerEventType::ContainerStartedEvent,
                );
                Ok(())
            }
            Err(message) => {
                self.store.write(|s| {
                    if let Some(record) = s.containers.get_mut(&plan.id) {
                        mark_start_error(record, &message);
                    }
                });
                Err(CriError::unknown(message))
            }
        }
    }

    /// Builds the process world, opens the log, spawns the main process and its monitor.
    fn launch(self: &Arc<Self>, plan: &StartPlan) -> Result<ContainerProcess, String> {
        let image = plan.image.clone().unwrap_or_else(|| {
            Image::builder("removed-image")
                .build()
                .unwrap_or_else(|_| unreachable!("a constant reference parses"))
        });
        let spec = self.sim_spec(plan, &image);
        // In the node's PID namespace the main process's pid is its host pid.
        let host_pid_namespace = spec
            .pid_namespace
            .as_ref()
            .is_some_and(|ns| Arc::ptr_eq(ns, &self.host_pids));
        let sim = ContainerSim::new(spec, self.programs.clone());
        let log = if plan.log_path.is_empty() {
            None
        } else {
            match ContainerLog::open(std::path::Path::new(&plan.log_path)) {
                Ok(log) => Some(log),
                Err(e) => {
                    return Err(format!(
                        "failed to create containerd task: failed to create container loggers: failed to open log file {}: {e}",
                        go_quote(&plan.log_path)
                    ));
                }
            }
        };
        let tty = plan.config.tty;
        let (stdout, stdout_reader) = Output::pipe();
        let (stderr, stderr_reader) = if tty {
            (stdout.clone(), None)
        } else {
            let (w, r) = Output::pipe();
            (w, Some(r))
        };
        let argv = process_args(&plan.config, &image);
        // With `stdin` the main process's stdin stays open for attach.
        let window = Arc::new(Window::default());
        let (stdin, stdin_writer) = if plan.config.stdin {
            let (writer, reader) = Output::pipe();
            let input = Input::from_reader(reader);
            let input = if tty {
                input.into_terminal_with(window.clone())
            } else {
                input
            };
            (input, Some(writer))
        } else {
            (Input::empty(), None)
        };
        let io = Arc::new(ContainerIo::new(
            tty,
            plan.config.stdin_once,
            stdin_writer,
            Some(stdout.clone()),
            Some(window),
        ));
        let stdio = Stdio {
            stdin,
            stdout,
            stderr,
        };
        // A hook (the toolkit's container scripts) may take over the process.
        let main = self
            .spawn_process(Spawn {
                purpose: Purpose::Main,
                container: &plan.id,
                sim: &sim,
                argv: &argv,
                env: &[],
                stdio,
            })
            .map_err(|e| {
            self.dialect().oci_error(format_args!(
                "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: {}",
                e.runc_message()
            ))
        })?;
        let stdout_copier = copy_output(&io, log.as_ref(), LogStream::Stdout, stdout_reader);
        let stderr_copier =
            stderr_reader.map(|reader| copy_output(&io, log.as_ref(), LogStream::Stderr, reader));
        let (exited_tx, exited_rx) = watch::channel(false);
        let runtime = Arc::clone(self);
        let monitor_sim = sim.clone();
        let monitor_main = main.clone();
        let id = plan.id.clone();
        let monitor_io = io.clone();
        // One task watches the main process and copies its output: the copiers run
        // beside the wait, not as tasks of their own (fewer wakeups per container).
        self.tasks.spawn(async move {
            let watch_main = async {
                let status = monitor_main.wait().await;
                monitor_io.main_exited();
                // The container's init is gone: everything else in it dies with it.
                monitor_sim.kill_all(Signal::SIGKILL);
                status
            };
            let copy_stderr = futures::future::OptionFuture::from(stderr_copier);
            let (status, (), _) = tokio::join!(watch_main, stdout_copier, copy_stderr);
            let oom = monitor_sim.oom_killed();
            runtime.store.write(|s| {
                if let Some(record) = s.containers.get_mut(&id) {
                    record.phase = ContainerPhase::Exited;
                    record.finished_at = now_ns();
                    record.exit_code = status.code();
                    record.reason = if oom {
                        "OOMKilled".into()
                    } else if status.code() == 0 {
                        "Completed".into()
                    } else {
                        "Error".into()
                    };
                }
            });
            runtime.emit_event(
                &id,
                cri_proto::v1::ContainerEventType::ContainerStoppedEvent,
            );
            let _ = exited_tx.send(true);
        });
        let host_pid = if host_pid_namespace {
            main.pid()
        } else {
            self.allocate_host_pid()
        };
        Ok(ContainerProcess {
            sim,
            main,
            log,
            host_pid,
            io,
            exited: exited_rx,
        })
    }

    /// The seeded root filesystem of `image`, built at its first container.
    fn rootfs_template(&self, image: &Image) -> crate::process::vfs::Template {
        /// Templates kept at most (one per image in use; a few hundred KiB each).
        const KEPT: usize = 64;
        let mut templates = self
            .rootfs_templates
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(template) = templates.get(&image.id) {
            return template.clone();
        }
        let template = crate::process::rootfs_template(&image_seeds(image));
        if templates.len() >= KEPT {
            templates.clear();
        }
        templates.insert(image.id.clone(), template.clone());
        template
    }

    fn sim_spec(&self, plan: &StartPlan, image: &Image) -> SimSpec {
        let config = &plan.config;
        let sandbox = &plan.sandbox_config;
        let ns = namespace_options(sandbox);
        let host_network = ns.network == cri_proto::v1::NamespaceMode::Node as i32;
        let hostname = if !sandbox.hostname.is_empty() {
            sandbox.hostname.clone()
        } else if host_network {
            host_name()
        } else {
            sandbox
                .metadata
                .as_ref()
                .map(|m| m.name.clone())
                .unwrap_or_default()
        };
        let env = merge_env(
            &image.config.env,
            config
                .envs
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone())),
        );
        let security = config
            .linux
            .as_ref()
            .and_then(|l| l.security_context.clone())
            .unwrap_or_default();
        // The processes run as the spec's user.
        let user = UserSpec {
            uid: Some(i64::from(plan.user.uid)),
            username: None,
            gid: Some(i64::from(plan.user.gid)),
            supplemental_groups: plan
                .user
                .additional_gids
                .iter()
                .map(|&g| i64::from(g))
                .collect(),
        };
        SimSpec {
            hostname,
            env,
            working_dir: if config.working_dir.is_empty() {
                image.config.working_dir.clone()
            } else {
                config.working_dir.clone()
            },
            user,
            rootfs: Vec::new(),
            rootfs_template: Some(self.rootfs_template(image)),
            dns: sandbox.dns_config.as_ref().map(|d| DnsSpec {
                servers: d.servers.clone(),
                searches: d.searches.clone(),
                options: d.options.clone(),
            }),
            sysctls: sandbox
                .linux
                .as_ref()
                .map(|l| {
                    let mut sysctls: Vec<_> = l
                        .sysctls
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    sysctls.sort();
                    sysctls
                })
                .unwrap_or_default(),
            mounts: config
                .mounts
                .iter()
                .map(|m| MountSpec {
                    container_path: m.container_path.clone(),
                    host_path: m.host_path.clone().into(),
                    readonly: m.readonly,
                })
                .collect(),
            readonly_rootfs: security.readonly_rootfs,
            memory_limit_bytes: u64::try_from(plan.resources.memory_limit_in_bytes).unwrap_or(0),
            security: crate::core::security::security_spec(&security, plan.seccomp.clone()),
            writable_layer_limit_bytes: self.settings.writable_layer_limit_bytes,
            max_processes: self.settings.max_processes,
            network: Some(plan.network.clone()),
            max_open_pipes: self.settings.max_open_pipes,
            memory_budget_bytes: self.settings.memory_budget_bytes,
            host_ipc: ns.ipc == cri_proto::v1::NamespaceMode::Node as i32,
            pid_namespace: self.pid_namespace(plan),
        }
    }

    /// The PID namespace a container joins, as containerd decides it
    /// (`WithPodNamespaces`): with `CONTAINER` in its own namespace options one of its
    /// own (`None`), otherwise its sandbox's, which is the node's when the pod has
    /// `pid: NODE`. `TARGET` (another container's) is given its own namespace: not
    /// simulated.
    fn pid_namespace(&self, plan: &StartPlan) -> Option<Arc<crate::process::pidns::PidNamespace>> {
        use cri_proto::v1::NamespaceMode;
        let mode = plan
            .config
            .linux
            .as_ref()
            .and_then(|l| l.security_context.as_ref())
            .and_then(|s| s.namespace_options.as_ref())
            .map_or(NamespaceMode::Pod as i32, |n| n.pid);
        if mode == NamespaceMode::Container as i32 || mode == NamespaceMode::Target as i32 {
            None
        } else {
            plan.pod_pids.clone()
        }
    }

    /// CheckpointContainer: UNIMPLEMENTED in containerd 1.6. In 2.3 the container is
    /// looked up through ContainerStatus, must be running, and then the checkpoint fails
    /// the way it does on a host whose criu cannot dump (the fake has no checkpoint
    /// images; see README "Fidelity").
    pub fn checkpoint_container(&self, prefix: &str) -> Result<(), CriError> {
        if !self.dialect().newer_rpcs {
            return Err(CriError::new(
                crate::core::error::ErrorCode::Unimplemented,
                "method CheckpointContainer not implemented",
            ));
        }
        let (id, phase) = self
            .container_status(prefix, false)
            .map_err(|e| {
                e.context(format!(
                    "an error occurred when trying to find container the container status {}",
                    go_quote(prefix)
                ))
            })
            .and_then(|_| {
                self.store.read(|s| {
                    s.resolve_container(prefix)
                        .map(|r| (r.id.clone(), r.phase))
                        .map_err(find_container_error(self.dialect(), prefix))
                })
            })?;
        let state = phase.to_cri();
        if state != ContainerState::ContainerRunning {
            return Err(CriError::unknown(format!(
                "container {} is in {} state. only {} containers can be checkpointed",
                go_quote(&id),
                state.as_str_name(),
                ContainerState::ContainerRunning.as_str_name()
            )));
        }
        Err(CriError::unknown(format!(
            "checkpointing container {} failed: runc did not terminate successfully: exit status 1: criu failed: type NOTIFY errno 0",
            go_quote(&id)
        )))
    }

    /// StopContainer: stop signal, grace period, then SIGKILL (reference §3c). A missing
    /// container is NOT_FOUND in containerd 1.6 and a success in 2.3.
    pub async fn stop_container(&self, prefix: &str, timeout: i64) -> Result<(), CriError> {
        let grace = crate::core::exec::go_timeout(timeout);
        let target = self.store.write(|s| {
            let record = match s.resolve_container(prefix) {
                Ok(record) => record,
                // containerd 2.3: stopping what is not there is done.
                Err(LookupError::NotFound) if self.dialect().stop_missing_is_ok => {
                    return Ok(None);
                }
                Err(e) => return Err(find_container_error(self.dialect(), prefix)(e)),
            };
            let id = record.id.clone();
            match decide(Operation::Stop, record.phase, &id) {
                Decision::Nothing => return Ok(None),
                Decision::Fail(e) => return Err(e),
                Decision::Stop => {}
                other => unreachable_decision(other),
            }
            let record = s
                .containers
                .get_mut(&id)
                .ok_or_else(|| CriError::not_found("not found"))?;
            let send_signal = grace.is_some() && !record.stop_signal_sent;
            if send_signal {
                record.stop_signal_sent = true;
            }
            Ok(record
                .process
                .clone()
                .map(|p| (p, send_signal, record.stop_signal.clone())))
        })?;
        let Some((process, send_signal, stop_signal)) = target else {
            return Ok(());
        };
        if let Some(grace) = grace {
            if send_signal {
                let signal = Signal::parse(&stop_signal).unwrap_or(Signal::SIGTERM);
                process.main.signal(signal);
            }
            if tokio::time::timeout(grace, process.wait_recorded_exit())
                .await
                .is_ok()
            {
                return Ok(());
            }
        }
        process.main.signal(Signal::SIGKILL);
        process.wait_recorded_exit().await;
        Ok(())
    }

    /// Kills a running container at once (sandbox stop and removal) and waits until its
    /// exit is recorded. Created and exited containers are left as they are.
    pub(crate) async fn kill_container_without_grace(&self, id: &str) {
        let process = self.store.read(|s| {
            s.containers
                .get(id)
                .filter(|r| matches!(r.phase, ContainerPhase::Running))
                .and_then(|r| r.process.clone())
        });
        if let Some(process) = process {
            process.main.signal(Signal::SIGKILL);
            process.wait_recorded_exit().await;
        }
    }

    /// RemoveContainer: kills a running container first; a missing id is a success.
    pub async fn remove_container(&self, prefix: &str) -> Result<(), CriError> {
        let id = match self
            .store
            .read(|s| s.container_ids.resolve(prefix).map(str::to_owned))
        {
            Ok(id) => id,
            Err(LookupError::NotFound) => return Ok(()),
            Err(e) => return Err(find_container_error(self.dialect(), prefix)(e)),
        };
        self.remove_container_by_id(&id).await;
        Ok(())
    }

    pub(crate) async fn remove_container_by_id(&self, id: &str) {
        let phase = self.store.write(|s| {
            s.containers.get_mut(id).map(|r| {
                r.removing = true;
                r.phase
            })
        });
        if let Some(phase) = phase
            && decide(Operation::Remove, phase, id) == Decision::Remove
        {
            self.kill_container_without_grace(id).await;
        }
        let removed = self.store.write(|s| s.remove_container(id));
        if let Some(record) = &removed {
            self.emit_deleted_event(id, &record.sandbox_id);
        }
        if let Some(process) = removed.and_then(|r| r.process) {
            process.sim.shutdown().await;
        }
    }

    /// ContainerStatus.
    pub fn container_status(
        &self,
        prefix: &str,
        verbose: bool,
    ) -> Result<ContainerStatusResponse, CriError> {
        self.store.read(|s| {
            let record = s
                .resolve_container(prefix)
                .map_err(find_container_error(self.dialect(), prefix))?;
            let status = self.container_status_of(s, record);
            let mut info = HashMap::new();
            if verbose {
                info.insert("info".to_owned(), container_verbose_info(record));
            }
            Ok(ContainerStatusResponse {
                status: Some(status),
                info,
            })
        })
    }

    /// ContainerStatus' status of `record` (also each container event's statuses).
    pub(crate) fn container_status_of(
        &self,
        s: &Inner,
        record: &ContainerRecord,
    ) -> ContainerStatus {
        let image = s.images.stored(&record.image_id);
        let dialect = self.dialect();
        // containerd 2.3 reads the user back from the spec CreateContainer stored; a
        // spec it cannot read gives an empty ContainerUser.
        let user = dialect
            .container_status_user
            .then(|| match s.images.known(&record.image_id) {
                Some(_) => container_user(&record.spec_process.user),
                None => ContainerUser::default(),
            });
        let (image_name, image_ref) = match image {
            Some(image) => (
                image
                    .repo_tags
                    .first()
                    .cloned()
                    .unwrap_or_else(|| record.image_requested.clone()),
                image
                    .repo_digests
                    .first()
                    .cloned()
                    .unwrap_or_else(|| image.id.clone()),
            ),
            None => (record.image_requested.clone(), record.image_id.clone()),
        };
        ContainerStatus {
            id: record.id.clone(),
            metadata: record.config.metadata.clone(),
            state: record.phase.to_cri() as i32,
            created_at: record.created_at,
            started_at: record.started_at,
            finished_at: record.finished_at,
            exit_code: record.exit_code,
            image: Some(ImageSpec {
                image: image_name,
                ..Default::default()
            }),
            image_ref,
            // The platform-specific config digest, kept before `image_ref` becomes the
            // first repo digest.
            image_id: if dialect.container_image_id {
                record.image_id.clone()
            } else {
                String::new()
            },
            user,
            reason: record.reason.clone(),
            message: record.message.clone(),
            labels: record.config.labels.clone(),
            annotations: record.config.annotations.clone(),
            // containerd (1.6 and 2.3 alike) reports the mounts of the create
            // request as they were given (`meta.Config.GetMounts()`).
            mounts: record.config.mounts.clone(),
            log_path: record.log_path.clone(),
            resources: Some(ContainerResources {
                linux: Some(record.resources.clone()),
                ..Default::default()
            }),
        }
    }

    /// ListContainers: id, sandbox id (both prefixes), state and label filters, ANDed.
    pub fn list_containers(&self, filter: Option<ContainerFilter>) -> Vec<Container> {
        let filter = filter.unwrap_or_default();
        let selection = ContainerSelection::listed(&filter);
        self.store.read(|s| {
            // Unfiltered lists are the big ones: size the answer once.
            let mut items = Vec::with_capacity(selection.size_hint(s));
            selection.each(s, |r| items.push(list_item(self.dialect(), r)));
            items
        })
    }

    /// UpdateContainerResources: merges the update into the container's resources.
    pub fn update_container_resources(
        &self,
        prefix: &str,
        linux: Option<LinuxContainerResources>,
    ) -> Result<(), CriError> {
        self.store.write(|s| {
            let id = s
                .container_ids
                .resolve(prefix)
                .map(str::to_owned)
                .map_err(|e| e.with_prefix(self.dialect(), "failed to find container"))?;
            let record = s.containers.get_mut(&id).ok_or_else(|| CriError::not_found("failed to find container: not found"))?;
            if record.removing {
                return Err(CriError::unknown(format!(
                    "failed to update resources: container {} is in removing state",
                    go_quote(&id)
                )));
            }
            let Some(update) = linux else {
                return Ok(());
            };
            let merged = merge_resources(&record.resources, &update);
            if record.phase == ContainerPhase::Running && update.memory_limit_in_bytes > 0 {
                let usage = SIMULATED_MEMORY_USAGE;
                if update.memory_limit_in_bytes < usage {
                    return Err(CriError::unknown(self.dialect().oci_error(format_args!(
                        "failed to update resources: failed to update resources: runc did not terminate successfully: exit status 1: unable to set memory limit to {} (current usage: {usage}, peak usage: {})\n",
                        update.memory_limit_in_bytes, SIMULATED_PEAK_MEMORY_USAGE
                    ))));
                }
            }
            record.resources = merged;
            Ok(())
        })
    }

    /// ReopenContainerLog: reopens a running container's log file.
    pub fn reopen_container_log(&self, prefix: &str) -> Result<(), CriError> {
        let log = self.store.read(|s| {
            let record = s
                .resolve_container(prefix)
                .map_err(find_container_error(self.dialect(), prefix))?;
            if record.phase != ContainerPhase::Running {
                return Err(CriError::unknown("container is not running"));
            }
            Ok(record.process.as_ref().and_then(|p| p.log.clone()))
        })?;
        match log {
            Some(log) => log
                .reopen()
                .map_err(|e| CriError::unknown(format!("failed to create and open log file: {e}"))),
            None => Ok(()),
        }
    }
}

/// Memory a simulated container uses (what a memory limit update must stay above).
pub const SIMULATED_MEMORY_USAGE: i64 = 204_800;
/// Peak memory a simulated container has used.
pub const SIMULATED_PEAK_MEMORY_USAGE: i64 = 2_760_704;

fn unreachable_decision(decision: Decision) -> ! {
    unreachable!("decide() gave {decision:?} for an operation that cannot produce it")
}

fn mark_start_error(record: &mut ContainerRecord, message: &str) {
    record.phase = ContainerPhase::Exited;
    record.exit_code = 128;
    record.reason = "StartError".into();
    record.message = message.to_owned();
    record.started_at = 0;
    record.finished_at = now_ns();
}

/// Which of a container's phases a [`ContainerSelection`] admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhaseFilter {
    /// Every phase (ListContainers without a state filter).
    Any,
    /// The phases that report as this CRI `ContainerState` (ListContainers' state filter).
    State(i32),
    /// Created and running containers (ListContainerStats).
    Live,
}

impl PhaseFilter {
    /// Whether a container in `phase` passes.
    fn admits(self, phase: ContainerPhase) -> bool {
        match self {
            Self::Any => true,
            Self::State(state) => phase.to_cri() as i32 == state,
            Self::Live => matches!(phase, ContainerPhase::Created | ContainerPhase::Running),
        }
    }
}

/// The one container matcher of the lists (ListContainers and ListContainerStats, owned
/// or [encoded](crate::core::list_encode)): id and sandbox id prefixes, phase and label
/// selector, ANDed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ContainerSelection<'f> {
    /// Container id prefix (empty: any).
    id: &'f str,
    /// Sandbox id prefix (empty: any).
    pod_sandbox_id: &'f str,
    /// The phases wanted.
    phase: PhaseFilter,
    /// Labels the container must have, with these values.
    label_selector: &'f HashMap<String, String>,
}

impl<'f> ContainerSelection<'f> {
    /// What ListContainers' `filter` selects.
    pub(crate) fn listed(filter: &'f ContainerFilter) -> Self {
        Self {
            id: &filter.id,
            pod_sandbox_id: &filter.pod_sandbox_id,
            phase: filter
                .state
                .as_ref()
                .map_or(PhaseFilter::Any, |v| PhaseFilter::State(v.state)),
            label_selector: &filter.label_selector,
        }
    }

    /// What ListContainerStats' `filter` selects (created and running containers only).
    pub(crate) fn stats(filter: &'f ContainerStatsFilter) -> Self {
        Self {
            id: &filter.id,
            pod_sandbox_id: &filter.pod_sandbox_id,
            phase: PhaseFilter::Live,
            label_selector: &filter.label_selector,
        }
    }

    /// How many containers to make room for: all of them when nothing is filtered.
    pub(crate) fn size_hint(&self, s: &Inner) -> usize {
        let unfiltered = self.id.is_empty()
            && self.pod_sandbox_id.is_empty()
            && self.phase == PhaseFilter::Any
            && self.label_selector.is_empty();
        if unfiltered { s.containers.len() } else { 0 }
    }

    /// Calls `visit` with every selected container of `s`, in list order: the one
    /// container an id names, a sandbox's containers from its index, else the table's.
    /// An id or sandbox prefix that names no single object selects nothing.
    pub(crate) fn each<'s>(&self, s: &'s Inner, mut visit: impl FnMut(&'s ContainerRecord)) {
        let Some(id) = s.container_ids.resolve_filter(self.id) else {
            return;
        };
        let Some(sandbox_id) = s.sandbox_ids.resolve_filter(self.pod_sandbox_id) else {
            return;
        };
        let matches = |r: &ContainerRecord| {
            id.is_none_or(|id| r.id == id)
                && sandbox_id.is_none_or(|sid| r.sandbox_id == sid)
                && self.phase.admits(r.phase)
                && labels_match(&r.config.labels, self.label_selector)
        };
        match (id, sandbox_id) {
            (Some(id), _) => {
                if let Some(r) = s.containers.get(id).map(|r| &**r)
                    && matches(r)
                {
                    visit(r);
                }
            }
            (None, Some(sandbox_id)) => s
                .container_records_of(sandbox_id)
                .filter(|r| matches(r))
                .for_each(visit),
            (None, None) => s
                .containers
                .values()
                .map(|r| &**r)
                .filter(|r| matches(r))
                .for_each(visit),
        }
    }
}

/// Copies one output stream to attached clients and the log; the future ends when
/// every record is written.
fn copy_output(
    io: &Arc<ContainerIo>,
    log: Option<&ContainerLog>,
    stream: LogStream,
    reader: OutputReader,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let io = Arc::clone(io);
    let writer = log.map(|log| log.stream_writer(stream));
    async move { io.fan_out(stream, reader, writer).await }
}

/// ListContainers' item for `record` (what [the encoder](crate::core::list_encode)
/// writes field for field).
fn list_item(dialect: &Dialect, record: &ContainerRecord) -> Container {
    Container {
        id: record.id.clone(),
        pod_sandbox_id: record.sandbox_id.clone(),
        metadata: record.config.metadata.clone(),
        image: Some(ImageSpec {
            image: record.image_requested.clone(),
            ..Default::default()
        }),
        image_ref: record.image_id.clone(),
        state: record.phase.to_cri() as i32,
        created_at: record.created_at,
        labels: record.config.labels.clone(),
        annotations: record.config.annotations.clone(),
        // 2.3 sets both to the config digest (it skips ContainerStatus' repo digest
        // lookup); 1.6 predates the field.
        image_id: if dialect.container_image_id {
            record.image_id.clone()
        } else {
            String::new()
        },
    }
}

/// The image's root filesystem: its [`Rootfs`], then the files it adds or replaces.
fn image_seeds(image: &Image) -> Vec<FileSeed> {
    let mut seeds = match image.rootfs {
        Rootfs::Busybox => rootfs::busybox(),
        Rootfs::Pause => rootfs::pause(),
        Rootfs::Scratch => Vec::new(),
    };
    seeds.extend(image.files.iter().cloned());
    seeds
}

/// The image's `/etc/passwd` and `/etc/group` (`None`: the image has none): a file the
/// image adds wins over its [`Rootfs`]'s.
fn user_files(image: &Image) -> (Option<&str>, Option<&str>) {
    let (passwd, group) = match image.rootfs {
        Rootfs::Busybox => (Some(rootfs::BUSYBOX_PASSWD), Some(rootfs::BUSYBOX_GROUP)),
        Rootfs::Pause | Rootfs::Scratch => (None, None),
    };
    let added = |path: &str| {
        image.files.iter().rev().find_map(|seed| match seed {
            FileSeed::File {
                path: p, contents, ..
            } if p == path => Some(std::str::from_utf8(contents).ok()),
            _ => None,
        })
    };
    (
        added("/etc/passwd").unwrap_or(passwd),
        added("/etc/group").unwrap_or(group),
    )
}

/// The OCI spec user containerd builds for a container of `config` from `image`.
fn spec_user(
    dialect: &Dialect,
    config: &ContainerConfig,
    image: &Image,
) -> Result<SpecUser, SpecUserError> {
    let security = config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref());
    let request = UserRequest {
        run_as_username: security
            .map(|s| s.run_as_username.clone())
            .unwrap_or_default(),
        run_as_user: security
            .and_then(|s| s.run_as_user.as_ref())
            .map(|v| v.value),
        run_as_group: security
            .and_then(|s| s.run_as_group.as_ref())
            .map(|v| v.value),
        supplemental_groups: security
            .map(|s| s.supplemental_groups.clone())
            .unwrap_or_default(),
        supplemental_groups_policy: security.map_or(0, |s| s.supplemental_groups_policy),
        image_user: image.config.user.clone(),
    };
    let (passwd, group) = user_files(image);
    users::spec_user(&request, passwd, group, dialect.spec_user_rules())
}

/// ContainerStatus' `user`: the spec user as containerd 2.3's `toCRIContainerUser` copies it.
fn container_user(user: &SpecUser) -> ContainerUser {
    ContainerUser {
        linux: Some(LinuxContainerUser {
            uid: i64::from(user.uid),
            gid: i64::from(user.gid),
            supplemental_groups: user.additional_gids.iter().map(|&g| i64::from(g)).collect(),
        }),
    }
}

fn container_verbose_info(record: &ContainerRecord) -> String {
    let running = record.phase == ContainerPhase::Running;
    let pid = if running {
        record.process.as_ref().map_or(0, |p| p.host_pid)
    } else {
        0
    };
    let process = &record.spec_process;
    let config = record.config.full();
    // The spec's `linux` section: the cgroup, and the masked and read-only paths the
    // security context asked for (containerd's specs-go omits empty lists; a
    // privileged container has none).
    let mut linux = serde_json::json!({"cgroupsPath": format!("/k8s.io/{}", record.id)});
    let security = crate::core::security::security_spec(
        &config
            .linux
            .as_ref()
            .and_then(|l| l.security_context.clone())
            .unwrap_or_default(),
        None,
    );
    if let Some(linux) = linux.as_object_mut() {
        if !security.masked_paths.is_empty() {
            linux.insert(
                "maskedPaths".into(),
                serde_json::json!(security.masked_paths),
            );
        }
        if !security.readonly_paths.is_empty() {
            linux.insert(
                "readonlyPaths".into(),
                serde_json::json!(security.readonly_paths),
            );
        }
    }
    serde_json::json!({
        "sandboxID": record.sandbox_id,
        "pid": pid,
        "removing": record.removing,
        "snapshotKey": record.id,
        "snapshotter": "overlayfs",
        "runtimeType": "io.containerd.runc.v2",
        "runtimeOptions": {"binary_name": "runc"},
        "config": to_json("ContainerConfig", &config),
        "runtimeSpec": {
            "ociVersion": "1.0.2-dev",
            "process": {
                "args": process.args,
                "env": process.env,
                "cwd": process.cwd,
                "terminal": record.config.tty,
            },
            "root": {"path": "rootfs"},
            "annotations": {
                "io.kubernetes.cri.container-type": "container",
                "io.kubernetes.cri.sandbox-id": record.sandbox_id,
                "io.kubernetes.cri.container-name": record.config.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
            },
            "linux": linux,
        },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_and_operation_pair_is_decided_like_containerd() {
        use ContainerPhase::*;
        let id = "c1";
        assert_eq!(decide(Operation::Start, Created, id), Decision::Start);
        assert_eq!(
            decide(Operation::Start, Running, id),
            Decision::Fail(CriError::unknown(
                "failed to set starting state for container \"c1\": container is in CONTAINER_RUNNING state"
            ))
        );
        assert_eq!(
            decide(Operation::Start, Exited, id),
            Decision::Fail(CriError::unknown(
                "failed to set starting state for container \"c1\": container is in CONTAINER_EXITED state"
            ))
        );
        assert!(matches!(
            decide(Operation::Start, Starting, id),
            Decision::Fail(_)
        ));
        assert_eq!(decide(Operation::Stop, Created, id), Decision::Nothing);
        assert_eq!(decide(Operation::Stop, Exited, id), Decision::Nothing);
        assert_eq!(decide(Operation::Stop, Running, id), Decision::Stop);
        for phase in [Created, Starting, Running, Exited] {
            assert_eq!(decide(Operation::Remove, phase, id), Decision::Remove);
        }
    }

    #[test]
    fn resources_merge_non_zero_fields_and_swap_follows_memory() {
        let current = LinuxContainerResources {
            cpu_shares: 256,
            memory_limit_in_bytes: 64 << 20,
            memory_swap_limit_in_bytes: 64 << 20,
            ..Default::default()
        };
        let update = LinuxContainerResources {
            cpu_quota: 20000,
            cpu_period: 100000,
            ..Default::default()
        };
        let merged = merge_resources(&current, &update);
        assert_eq!(merged.cpu_shares, 256);
        assert_eq!(merged.cpu_quota, 20000);
        assert_eq!(merged.cpu_period, 100000);
        assert_eq!(merged.memory_swap_limit_in_bytes, 64 << 20);
        let merged = merge_resources(
            &merged,
            &LinuxContainerResources {
                memory_limit_in_bytes: 32 << 20,
                ..Default::default()
            },
        );
        assert_eq!(merged.memory_limit_in_bytes, 32 << 20);
        assert_eq!(merged.memory_swap_limit_in_bytes, 32 << 20);
    }

    #[test]
    fn env_overrides_replace_keys_in_place_and_append_new_ones() {
        let env = merge_env(
            &["PATH=/bin".to_owned(), "A=1".to_owned()],
            [
                ("A".to_owned(), "2".to_owned()),
                ("B".to_owned(), "3".to_owned()),
            ],
        );
        assert_eq!(env, ["PATH=/bin", "A=2", "B=3"]);
    }
}
