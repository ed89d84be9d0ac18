//! Pod sandbox lifecycle: RunPodSandbox, StopPodSandbox, RemovePodSandbox,
//! PodSandboxStatus and ListPodSandbox, with containerd's checks, texts and codes
//! (reference §2, §4, §5).

use std::collections::HashMap;

use cri_proto::v1::{
    LinuxPodSandboxStatus, Namespace, NamespaceMode, NamespaceOption, PodSandbox, PodSandboxConfig,
    PodSandboxFilter, PodSandboxNetworkStatus, PodSandboxStatus, PodSandboxStatusResponse,
};

use crate::core::error::{CriError, LookupError, go_quote};
use crate::core::proto_json::to_json;
use crate::core::runtime::{Runtime, now_ns};
use crate::core::state::{Inner, KeptSandboxConfig, SandboxPhase, SandboxRecord, new_id};
use crate::process::bridge::Bridge;
use crate::process::net::Network;

/// The name containerd reserves for a sandbox: `<name>_<namespace>_<uid>_<attempt>`.
pub(crate) fn sandbox_reserved_name(config: &PodSandboxConfig) -> Option<String> {
    let m = config.metadata.as_ref()?;
    Some(format!(
        "{}_{}_{}_{}",
        m.name, m.namespace, m.uid, m.attempt
    ))
}

/// The namespace options of a sandbox config (all `POD` when unset).
pub(crate) fn namespace_options(config: &PodSandboxConfig) -> NamespaceOption {
    config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.clone())
        .unwrap_or_default()
}

/// containerd 2.3's non-verbose sandbox `info`: its SandboxInfo with nothing filled in.
const EMPTY_SANDBOX_INFO: &str = r#"{"pid":0,"processStatus":"","netNamespaceClosed":false,"image":"","snapshotKey":"","snapshotter":"","runtimeType":"","runtimeOptions":null,"config":null,"runtimeSpec":null,"cniResult":null,"sandboxMetadata":null}"#;

/// Labels match a selector when every selector pair is present with an equal value.
pub(crate) fn labels_match(
    labels: &HashMap<String, String>,
    selector: &HashMap<String, String>,
) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

impl Runtime {
    /// RunPodSandbox.
    pub fn run_pod_sandbox(
        &self,
        config: Option<PodSandboxConfig>,
        runtime_handler: String,
    ) -> Result<String, CriError> {
        let config = config.unwrap_or_default();
        let Some(reserved_name) = sandbox_reserved_name(&config) else {
            return Err(CriError::unknown("sandbox config must include metadata"));
        };
        let id = new_id();
        self.store.write(|s| {
            s.sandbox_names
                .reserve(&reserved_name, &id)
                .map_err(|held| {
                    CriError::new(
                        self.dialect().name_conflict_code,
                        format!(
                            "failed to reserve sandbox name {}: name {} is reserved for {}",
                            go_quote(&reserved_name),
                            go_quote(&reserved_name),
                            go_quote(&held.holder)
                        ),
                    )
                })
        })?;
        let release_name = || {
            self.store
                .write(|s| s.sandbox_names.release(&reserved_name))
        };
        if !self.settings.runtime_handlers.contains(&runtime_handler) {
            release_name();
            return Err(CriError::unknown(
                self.dialect()
                    .unknown_runtime_handler(&id, &runtime_handler),
            ));
        }
        let namespaces = namespace_options(&config);
        let host_network = namespaces.network == NamespaceMode::Node as i32;
        if host_network && !config.hostname.is_empty() {
            release_name();
            return Err(CriError::unknown(self.dialect().sandbox_start_error(
                &id,
                "failed to create containerd task: failed to create shim task: OCI runtime \
                 create failed: runc create failed: unable to set hostname without a private \
                 UTS namespace",
            )));
        }
        let ip = if host_network {
            None
        } else {
            match self.ip_pool.allocate() {
                Some(ip) => Some(ip),
                None => {
                    release_name();
                    return Err(CriError::unknown(format!(
                        "failed to setup network for sandbox {}: failed to allocate for range 0: \
                         no IP addresses available in range set: {}",
                        go_quote(&id),
                        self.settings.pod_cidr
                    )));
                }
            }
        };
        let network = if host_network {
            self.host_network.clone()
        } else {
            // A pod address that is the machine's own (a loopback network) is
            // reachable from the machine when host ports are real sockets.
            match ip.as_deref().map(str::parse::<std::net::IpAddr>) {
                Some(Ok(addr))
                    if addr.is_loopback() && self.settings.host_port_address.is_some() =>
                {
                    Network::for_pod_on(addr)
                }
                _ => Network::with_address(ip.as_deref()),
            }
        };
        let host_pid = namespaces.pid == NamespaceMode::Node as i32;
        let published = match (&ip, self.settings.host_port_address) {
            (Some(_), Some(address)) => publish_host_ports(&config, address, &network),
            _ => Vec::new(),
        };
        let mut record = SandboxRecord {
            id: id.clone(),
            config: KeptSandboxConfig::new(config),
            listed: bytes::Bytes::new(),
            runtime_handler,
            phase: SandboxPhase::Ready,
            created_at: now_ns(),
            reserved_name,
            ip,
            pid: self.allocate_host_pid(),
            network,
            // containerd starts pause without a PID namespace of its own for `pid: NODE`.
            pid_namespace: if host_pid {
                self.host_pids.clone()
            } else {
                crate::process::pidns::PidNamespace::pod()
            },
        };
        record.listed = crate::core::list_encode::sandbox_listed_fields(&record);
        self.store.write(|s| s.insert_sandbox(record));
        if !published.is_empty() {
            self.host_ports_guard().insert(id.clone(), published);
        }
        self.emit_event(
            &id,
            cri_proto::v1::ContainerEventType::ContainerCreatedEvent,
        );
        self.emit_event(
            &id,
            cri_proto::v1::ContainerEventType::ContainerStartedEvent,
        );
        Ok(id)
    }

    /// StopPodSandbox: kills the sandbox's running containers without grace, then marks
    /// it NOTREADY. Idempotent; a missing sandbox is NOT_FOUND in containerd 1.6 and a
    /// success in 2.3.
    pub async fn stop_pod_sandbox(&self, prefix: &str) -> Result<(), CriError> {
        let id = match self
            .store
            .read(|s| s.sandbox_ids.resolve(prefix).map(str::to_owned))
        {
            Ok(id) => id,
            // containerd 2.3: stopping what is not there is done.
            Err(LookupError::NotFound) if self.dialect().stop_missing_is_ok => return Ok(()),
            Err(e) => {
                return Err(e.with_prefix(
                    self.dialect(),
                    format!(
                        "an error occurred when try to find sandbox {}",
                        go_quote(prefix)
                    ),
                ));
            }
        };
        self.stop_sandbox_by_id(&id).await;
        Ok(())
    }

    async fn stop_sandbox_by_id(&self, id: &str) {
        let containers = self.store.read(|s| s.containers_of(id));
        for container in containers {
            self.kill_container_without_grace(&container).await;
        }
        let mut stopped_now = false;
        let released_ip = self.store.write(|s| {
            let sandbox = s.sandboxes.get_mut(id)?;
            stopped_now = sandbox.phase == SandboxPhase::Ready;
            sandbox.phase = SandboxPhase::NotReady;
            sandbox.pid = 0;
            sandbox.ip.take()
        });
        if stopped_now {
            self.emit_event(id, cri_proto::v1::ContainerEventType::ContainerStoppedEvent);
        }
        if let Some(ip) = released_ip {
            self.ip_pool.release(&ip);
        }
        // The network is torn down: the host ports are closed when the stop returns.
        let published = self.host_ports_guard().remove(id).unwrap_or_default();
        for bridge in published {
            bridge.close().await;
        }
    }

    fn host_ports_guard(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Vec<Bridge>>> {
        self.host_ports.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// RemovePodSandbox: stops the sandbox if needed, removes it and all its containers.
    /// A missing sandbox is a success.
    pub async fn remove_pod_sandbox(&self, prefix: &str) -> Result<(), CriError> {
        let id = match self
            .store
            .read(|s| s.sandbox_ids.resolve(prefix).map(str::to_owned))
        {
            Ok(id) => id,
            Err(LookupError::NotFound) => return Ok(()),
            Err(e) => {
                return Err(e.with_prefix(
                    self.dialect(),
                    format!(
                        "an error occurred when try to find sandbox {}",
                        go_quote(prefix)
                    ),
                ));
            }
        };
        self.stop_sandbox_by_id(&id).await;
        let containers = self.store.read(|s| s.containers_of(&id));
        for container in containers {
            self.remove_container_by_id(&container).await;
        }
        let removed = self.store.write(|s| {
            // A container created concurrently with the removal goes too.
            for container in s.containers_of(&id) {
                s.remove_container(&container);
            }
            s.remove_sandbox(&id)
        });
        if removed.is_some() {
            self.emit_deleted_event(&id, &id);
        }
        Ok(())
    }

    /// PodSandboxStatus.
    pub fn pod_sandbox_status(
        &self,
        prefix: &str,
        verbose: bool,
    ) -> Result<PodSandboxStatusResponse, CriError> {
        self.store.read(|s| {
            let record = s.resolve_sandbox(prefix).map_err(|e| {
                e.with_prefix(self.dialect(), "an error occurred when try to find sandbox")
            })?;
            let mut info = HashMap::new();
            if verbose {
                info.insert("info".to_owned(), self.sandbox_verbose_info(record));
            } else if self.dialect().sandbox_info_always {
                // containerd 2.3 always re-marshals its (here empty) SandboxInfo, fields in
                // Go's declaration order.
                info.insert("info".to_owned(), EMPTY_SANDBOX_INFO.to_owned());
            }
            Ok(PodSandboxStatusResponse {
                status: Some(sandbox_status(record)),
                info,
                ..Default::default()
            })
        })
    }

    fn sandbox_verbose_info(&self, record: &SandboxRecord) -> String {
        let ready = record.phase == SandboxPhase::Ready;
        let cgroup_parent = record.config.cgroup_parent.clone();
        let cgroups_path = if cgroup_parent.is_empty() {
            format!("/k8s.io/{}", record.id)
        } else {
            format!("{}/{}", cgroup_parent.trim_end_matches('/'), record.id)
        };
        let mut info = serde_json::json!({
            "pid": record.pid,
            "processStatus": if ready { "running" } else { "deleted" },
            "netNamespaceClosed": !ready && !record.config.uses_host_network(),
            "image": self.settings.sandbox_image,
            "snapshotKey": record.id,
            "snapshotter": "overlayfs",
            "runtimeType": "io.containerd.runc.v2",
            "runtimeOptions": {"binary_name": "runc"},
            "config": to_json("PodSandboxConfig", &record.config.full()),
            "runtimeSpec": {
                "ociVersion": "1.0.2-dev",
                "process": {"args": ["/pause"], "cwd": "/", "user": {"uid": 65535, "gid": 65535}},
                "root": {"path": "rootfs", "readonly": true},
                "hostname": record.config.hostname,
                "annotations": {
                    "io.kubernetes.cri.container-type": "sandbox",
                    "io.kubernetes.cri.sandbox-id": record.id,
                    "io.kubernetes.cri.sandbox-name": record.config.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
                    "io.kubernetes.cri.sandbox-namespace": record.config.metadata.as_ref().map(|m| m.namespace.clone()).unwrap_or_default(),
                },
                "linux": {"cgroupsPath": cgroups_path},
            },
            "cniResult": serde_json::Value::Null,
        });
        if self.dialect().sandbox_info_has_metadata {
            info["sandboxMetadata"] = serde_json::json!({
                "Version": "v1",
                "Metadata": {
                    "ID": record.id,
                    "Name": record.reserved_name,
                    "Config": to_json("PodSandboxConfig", &record.config.full()),
                    "NetNSPath": netns_path(record).unwrap_or_default(),
                    "IP": record.ip.clone().unwrap_or_default(),
                    "AdditionalIPs": serde_json::Value::Null,
                    "RuntimeHandler": record.runtime_handler,
                    "CNIResult": serde_json::Value::Null,
                    "ProcessLabel": "",
                },
            });
        } else {
            info["runtimeHandler"] = record.runtime_handler.clone().into();
        }
        info.to_string()
    }

    /// ListPodSandbox: id (prefix), state and label filters, ANDed.
    pub fn list_pod_sandbox(&self, filter: Option<PodSandboxFilter>) -> Vec<PodSandbox> {
        let filter = filter.unwrap_or_default();
        let selection = SandboxSelection::listed(&filter);
        self.store.read(|s| {
            let mut items = Vec::new();
            selection.each(s, |r| items.push(list_item(r)));
            items
        })
    }
}

/// The one sandbox matcher of ListPodSandbox (owned or
/// [encoded](crate::core::list_encode)): id prefix, state and label selector, ANDed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SandboxSelection<'f> {
    /// Sandbox id prefix (empty: any).
    id: &'f str,
    /// The CRI `PodSandboxState` wanted (`None`: any).
    state: Option<i32>,
    /// Labels the sandbox must have, with these values.
    label_selector: &'f HashMap<String, String>,
}

impl<'f> SandboxSelection<'f> {
    /// What ListPodSandbox's `filter` selects.
    pub(crate) fn listed(filter: &'f PodSandboxFilter) -> Self {
        Self {
            id: &filter.id,
            state: filter.state.as_ref().map(|v| v.state),
            label_selector: &filter.label_selector,
        }
    }

    /// Calls `visit` with every selected sandbox of `s`, in list order: the one sandbox
    /// an id names, else the table's. An id prefix that names no single sandbox selects
    /// nothing.
    pub(crate) fn each<'s>(&self, s: &'s Inner, mut visit: impl FnMut(&'s SandboxRecord)) {
        let Some(id) = s.sandbox_ids.resolve_filter(self.id) else {
            return;
        };
        let matches = |r: &SandboxRecord| {
            id.is_none_or(|id| r.id == id)
                && self.state.is_none_or(|st| r.phase.to_cri() as i32 == st)
                && labels_match(&r.config.labels, self.label_selector)
        };
        match id {
            Some(id) => {
                if let Some(r) = s.sandboxes.get(id).map(|r| &**r)
                    && matches(r)
                {
                    visit(r);
                }
            }
            None => s
                .sandboxes
                .values()
                .map(|r| &**r)
                .filter(|r| matches(r))
                .for_each(visit),
        }
    }
}

/// PodSandboxStatus' status of `record` (also each container event's sandbox status).
pub(crate) fn sandbox_status(record: &SandboxRecord) -> PodSandboxStatus {
    let options = &record.config.namespace_options;
    PodSandboxStatus {
        id: record.id.clone(),
        metadata: record.config.metadata.clone(),
        state: record.phase.to_cri() as i32,
        created_at: record.created_at,
        network: Some(PodSandboxNetworkStatus {
            ip: record.ip.clone().unwrap_or_default(),
            additional_ips: Vec::new(),
        }),
        linux: Some(LinuxPodSandboxStatus {
            namespaces: Some(Namespace {
                options: Some(NamespaceOption {
                    network: options.network,
                    pid: options.pid,
                    ipc: options.ipc,
                    ..Default::default()
                }),
            }),
        }),
        labels: record.config.labels.clone(),
        annotations: record.config.annotations.clone(),
        runtime_handler: record.runtime_handler.clone(),
    }
}

/// ListPodSandbox's item for `record` (what [the encoder](crate::core::list_encode)
/// writes field for field).
fn list_item(record: &SandboxRecord) -> PodSandbox {
    PodSandbox {
        id: record.id.clone(),
        metadata: record.config.metadata.clone(),
        state: record.phase.to_cri() as i32,
        created_at: record.created_at,
        labels: record.config.labels.clone(),
        annotations: record.config.annotations.clone(),
        runtime_handler: record.runtime_handler.clone(),
    }
}

/// The path of a pod's own network namespace (`None` on the node's network).
pub(crate) fn netns_path(record: &SandboxRecord) -> Option<String> {
    (!record.config.uses_host_network()).then(|| {
        format!(
            "/var/run/netns/cni-{}",
            &record.id[..32.min(record.id.len())]
        )
    })
}

/// Opens the real host sockets of a sandbox's TCP port mappings with a host port (what
/// the CNI `portmap` plugin's DNAT rules do for containerd): `address`, or the
/// mapping's own `host_ip` when that is a loopback address. A port the machine cannot
/// give is logged and skipped; the sandbox runs anyway, as containerd's does when a
/// rule shadows another.
fn publish_host_ports(
    config: &PodSandboxConfig,
    address: std::net::IpAddr,
    network: &std::sync::Arc<Network>,
) -> Vec<Bridge> {
    config
        .port_mappings
        .iter()
        .filter(|m| m.protocol == cri_proto::v1::Protocol::Tcp as i32 && m.host_port > 0)
        .filter_map(|m| {
            let host_port = u16::try_from(m.host_port).ok()?;
            let container_port = u16::try_from(m.container_port).ok()?;
            let ip = m
                .host_ip
                .parse::<std::net::IpAddr>()
                .ok()
                .filter(std::net::IpAddr::is_loopback)
                .unwrap_or(address);
            match Bridge::open(ip, host_port, network, container_port) {
                Ok(bridge) => Some(bridge),
                Err(error) => {
                    tracing::warn!(%ip, host_port, %error, "cannot open a pod's host port");
                    None
                }
            }
        })
        .collect()
}
