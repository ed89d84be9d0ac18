//! Runtime information RPCs: Version, Status, RuntimeConfig, UpdateRuntimeConfig
//! (reference §1).

use std::collections::HashMap;

use cri_proto::v1::{
    CgroupDriver, LinuxRuntimeConfiguration, RuntimeCondition, RuntimeConfigResponse,
    RuntimeStatus, StatusResponse, VersionResponse,
};

use crate::core::error::{CriError, ErrorCode};
use crate::core::proto_json::go_json_string;
use crate::core::runtime::Runtime;

/// The CRI API version the fake serves.
pub(crate) const RUNTIME_API_VERSION: &str = "v1";
/// `VersionResponse.version`, the kubelet-facing API version containerd reports.
pub(crate) const KUBELET_API_VERSION: &str = "0.1.0";

impl Runtime {
    /// Version.
    pub fn version(&self) -> VersionResponse {
        VersionResponse {
            version: KUBELET_API_VERSION.into(),
            runtime_name: self.settings.runtime_name.clone(),
            runtime_version: self.settings.runtime_version.clone(),
            runtime_api_version: RUNTIME_API_VERSION.into(),
        }
    }

    /// Status: RuntimeReady and NetworkReady conditions, and containerd's verbose info.
    pub fn status(&self, verbose: bool) -> StatusResponse {
        let network = if self.settings.network_ready {
            RuntimeCondition {
                r#type: "NetworkReady".into(),
                status: true,
                ..Default::default()
            }
        } else {
            RuntimeCondition {
                r#type: "NetworkReady".into(),
                status: false,
                reason: "NetworkPluginNotReady".into(),
                message: "Network plugin returns error: cni plugin not initialized".into(),
            }
        };
        let mut conditions = vec![
            RuntimeCondition {
                r#type: "RuntimeReady".into(),
                status: true,
                ..Default::default()
            },
            network,
        ];
        if self.dialect().deprecation_condition {
            conditions.push(self.deprecation_condition());
        }
        let mut info = HashMap::new();
        if verbose {
            let cni_status = if self.settings.network_ready {
                "OK".to_owned()
            } else {
                "cni config load failed: no network config found in /etc/cni/net.d: cni plugin not initialized: failed to load cni config".to_owned()
            };
            info.insert(
                "golang".into(),
                go_json_string(self.dialect().golang_version),
            );
            info.insert("config".into(), self.config_json().to_string());
            info.insert("cniconfig".into(), self.cni_config_json().to_string());
            info.insert("lastCNILoadStatus".into(), cni_status.clone());
            info.insert("lastCNILoadStatus.default".into(), cni_status);
        }
        StatusResponse {
            status: Some(RuntimeStatus { conditions }),
            info,
            ..Default::default()
        }
    }

    /// containerd 2.3's `ContainerdHasNoDeprecationWarnings` condition: true without
    /// warnings, else false with the warnings as a JSON object (keys sorted, like Go).
    fn deprecation_condition(&self) -> RuntimeCondition {
        let warnings: std::collections::BTreeMap<&str, &str> = self
            .settings
            .deprecation_warnings
            .iter()
            .map(|(id, text)| (id.as_str(), text.as_str()))
            .collect();
        if warnings.is_empty() {
            return RuntimeCondition {
                r#type: "ContainerdHasNoDeprecationWarnings".into(),
                status: true,
                ..Default::default()
            };
        }
        RuntimeCondition {
            r#type: "ContainerdHasNoDeprecationWarnings".into(),
            status: false,
            reason: "ContainerdHasDeprecationWarnings".into(),
            message: crate::core::proto_json::go_json_string(&warnings),
        }
    }

    fn config_json(&self) -> serde_json::Value {
        let s = &self.settings;
        let root_dir = format!("{}/io.containerd.grpc.v1.cri", s.containerd_root);
        let drain = crate::core::exec::go_duration(s.drain_exec_sync_io_timeout);
        if !self.dialect().split_cri_config {
            return serde_json::json!({
                "containerd": {
                    "snapshotter": "overlayfs",
                    "defaultRuntimeName": "runc",
                    "runtimes": {"runc": {"runtimeType": "io.containerd.runc.v2"}},
                },
                "cni": {"binDir": "/opt/cni/bin", "confDir": "/etc/cni/net.d"},
                "registry": {},
                "enableSelinux": false,
                "sandboxImage": s.sandbox_image,
                "statsCollectPeriod": 10,
                "streamServerAddress": "127.0.0.1",
                "streamServerPort": "0",
                "enableTLSStreaming": false,
                "maxContainerLogSize": s.max_container_log_line_size,
                "restrictOOMScoreAdj": true,
                "drainExecSyncIOTimeout": drain,
                "containerdRootDir": s.containerd_root,
                "rootDir": root_dir,
            });
        }
        // containerd 2.3's runtime config with its defaults, as measured (the paths of a
        // default install; restrictOOMScoreAdj as the suite's hosts need it).
        serde_json::json!({
            "containerd": {
                "defaultRuntimeName": "runc",
                "runtimes": {"runc": {
                    "runtimeType": "io.containerd.runc.v2",
                    "runtimePath": "",
                    "PodAnnotations": null,
                    "ContainerAnnotations": null,
                    "options": {
                        "BinaryName": "", "CriuImagePath": "", "CriuWorkPath": "",
                        "IoGid": 0, "IoUid": 0, "NoNewKeyring": false, "Root": "",
                        "ShimCgroup": "", "SystemdCgroup": false,
                    },
                    "privileged_without_host_devices": false,
                    "privileged_without_host_devices_all_devices_allowed": false,
                    "cgroupWritable": false,
                    "baseRuntimeSpec": "",
                    "cniConfDir": "",
                    "cniMaxConfNum": 0,
                    "snapshotter": "",
                    "sandboxer": "podsandbox",
                    "io_type": "",
                }},
                "ignoreBlockIONotEnabledErrors": false,
                "ignoreRdtNotEnabledErrors": false,
            },
            "cni": {
                "binDir": "", "binDirs": ["/opt/cni/bin"], "confDir": "/etc/cni/net.d",
                "maxConfNum": 1, "setupSerially": false, "confTemplate": "", "ipPref": "",
                "useInternalLoopback": false,
            },
            "enableSelinux": false,
            "selinuxCategoryRange": 1024,
            "maxContainerLogLineSize": s.max_container_log_line_size,
            "disableApparmor": false,
            "restrictOOMScoreAdj": true,
            "disableProcMount": false,
            "unsetSeccompProfile": "",
            "tolerateMissingHugetlbController": true,
            "disableHugetlbController": true,
            "device_ownership_from_security_context": false,
            "ignoreImageDefinedVolumes": false,
            "netnsMountsUnderStateDir": false,
            "enableUnprivilegedPorts": true,
            "enableUnprivilegedICMP": true,
            "enableCDI": true,
            "cdiSpecDirs": ["/etc/cdi", "/var/run/cdi"],
            "drainExecSyncIOTimeout": drain,
            "ignoreDeprecationWarnings": null,
            "statsCollectPeriod": "",
            "statsRetentionPeriod": "",
            "enableCRIU": true,
            "enableExperimentalRestoreViaCreate": false,
            "containerdRootDir": s.containerd_root,
            "containerdEndpoint": "/run/containerd/containerd.sock",
            "rootDir": root_dir,
            "stateDir": "/run/containerd/io.containerd.grpc.v1.cri",
        })
    }

    /// Status verbose `cniconfig`: go-cni's view; 2.3 always lists its loopback network.
    fn cni_config_json(&self) -> serde_json::Value {
        let networks = if self.dialect().split_cri_config {
            let source = "{\n\"cniVersion\": \"0.3.1\",\n\"name\": \"cni-loopback\",\n\"plugins\": [{\n  \"type\": \"loopback\"\n}]\n}";
            serde_json::json!([{
                "Config": {
                    "Name": "cni-loopback",
                    "CNIVersion": "0.3.1",
                    "Plugins": [{
                        "Network": {"ipam": {}, "type": "loopback"},
                        "Source": "{\"type\":\"loopback\"}",
                    }],
                    "Source": source,
                },
                "IFName": "lo",
            }])
        } else {
            serde_json::json!([])
        };
        serde_json::json!({
            "PluginDirs": ["/opt/cni/bin"],
            "PluginConfDir": "/etc/cni/net.d",
            "PluginMaxConfNum": 1,
            "Prefix": "eth",
            "Networks": networks,
        })
    }

    /// RuntimeConfig: the cgroup driver (UNIMPLEMENTED in the containerd 1.6 profile).
    pub fn runtime_config(&self) -> Result<RuntimeConfigResponse, CriError> {
        if !self.dialect().newer_rpcs {
            return Err(CriError::new(
                ErrorCode::Unimplemented,
                "unknown method RuntimeConfig for service runtime.v1.RuntimeService",
            ));
        }
        Ok(RuntimeConfigResponse {
            linux: Some(LinuxRuntimeConfiguration {
                cgroup_driver: CgroupDriver::Cgroupfs as i32,
            }),
        })
    }
}
