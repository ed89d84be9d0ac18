"""A full pod lifecycle against a CRI endpoint with Python grpcio and default options.

Usage: python cri_lifecycle.py STUB_DIR SOCKET_PATH

STUB_DIR holds api_pb2.py / api_pb2_grpc.py generated from proto/api.proto; SOCKET_PATH
is the runtime's unix socket. The channel is ``grpc.insecure_channel("unix://" + path)``
with no options, exactly what Python users write: grpc-core then sends the socket path
as the HTTP/2 ``:authority``, which a strict HTTP/2 server rejects (``malformed
authority``) and the call fails with ``INTERNAL: Stream removed``. Every step asserts
exact results; the script exits non-zero on the first failure. An interactive Exec runs
over WebSocket with the ``kubernetes`` client's own stream code (``WSClient``), a
client this project did not write.
"""

import sys

import grpc
from kubernetes.client import Configuration
from kubernetes.stream.ws_client import WSClient


def main() -> int:
    stub_dir, socket_path = sys.argv[1], sys.argv[2]
    sys.path.insert(0, stub_dir)
    import api_pb2 as cri  # noqa: E402  (generated at run time)
    import api_pb2_grpc as cri_grpc  # noqa: E402

    channel = grpc.insecure_channel("unix://" + socket_path)
    grpc.channel_ready_future(channel).result(timeout=10)
    rt = cri_grpc.RuntimeServiceStub(channel)
    img = cri_grpc.ImageServiceStub(channel)
    timeout = 10

    def step(name):
        print(f"cri_lifecycle: {name}", flush=True)

    step("Version")
    version = rt.Version(cri.VersionRequest(version="v1"), timeout=timeout)
    assert version.runtime_name == "containerd", version
    assert version.runtime_api_version == "v1", version
    assert version.version == "0.1.0", version

    step("PullImage busybox:1.36")
    image = cri.ImageSpec(image="busybox:1.36")
    pulled = img.PullImage(cri.PullImageRequest(image=image), timeout=timeout)
    assert pulled.image_ref.startswith("sha256:"), pulled

    pod_config = cri.PodSandboxConfig(
        metadata=cri.PodSandboxMetadata(
            name="py-pod", uid="py-uid-1", namespace="default", attempt=0
        ),
        linux=cri.LinuxPodSandboxConfig(
            security_context=cri.LinuxSandboxSecurityContext(
                namespace_options=cri.NamespaceOption(network=cri.NODE)
            )
        ),
    )
    step("RunPodSandbox")
    pod_id = rt.RunPodSandbox(
        cri.RunPodSandboxRequest(config=pod_config), timeout=timeout
    ).pod_sandbox_id
    assert len(pod_id) == 64 and all(c in "0123456789abcdef" for c in pod_id), pod_id

    listed = rt.ListPodSandbox(cri.ListPodSandboxRequest(), timeout=timeout).items
    assert [p.id for p in listed] == [pod_id], listed
    assert listed[0].state == cri.SANDBOX_READY, listed[0]
    assert listed[0].metadata.name == "py-pod", listed[0]

    step("CreateContainer")
    container_config = cri.ContainerConfig(
        metadata=cri.ContainerMetadata(name="app", attempt=0),
        image=image,
        command=["sleep", "1000"],
    )
    container_id = rt.CreateContainer(
        cri.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=container_config, sandbox_config=pod_config
        ),
        timeout=timeout,
    ).container_id
    assert len(container_id) == 64, container_id
    status = rt.ContainerStatus(
        cri.ContainerStatusRequest(container_id=container_id), timeout=timeout
    ).status
    assert status.state == cri.CONTAINER_CREATED, status

    step("StartContainer")
    rt.StartContainer(
        cri.StartContainerRequest(container_id=container_id), timeout=timeout
    )
    status = rt.ContainerStatus(
        cri.ContainerStatusRequest(container_id=container_id), timeout=timeout
    ).status
    assert status.state == cri.CONTAINER_RUNNING, status

    step("ExecSync")
    out = rt.ExecSync(
        cri.ExecSyncRequest(
            container_id=container_id,
            cmd=["sh", "-c", "echo hello; exit 3"],
            timeout=5,
        ),
        timeout=timeout,
    )
    assert out.stdout == b"hello\n", out
    assert out.stderr == b"", out
    assert out.exit_code == 3, out

    step("Exec over WebSocket (the kubernetes client's WSClient)")
    url = rt.Exec(
        cri.ExecRequest(
            container_id=container_id,
            cmd=["sh", "-c", "read x; echo got $x; echo err >&2; exit 4"],
            stdin=True,
            stdout=True,
            stderr=True,
        ),
        timeout=timeout,
    ).url
    ws = WSClient(
        Configuration(), url.replace("http://", "ws://", 1), None, capture_all=True
    )
    assert ws.subprotocol == "v5.channel.k8s.io", ws.subprotocol
    ws.write_stdin("python\n")
    ws.run_forever(timeout=10)
    assert not ws.is_open(), "the exec ended"
    assert ws.read_stdout() == "got python\n", ws.read_all()
    assert ws.read_stderr() == "err\n", ws.read_all()
    assert ws.returncode == 4, ws.returncode

    step("StopContainer")
    rt.StopContainer(
        cri.StopContainerRequest(container_id=container_id, timeout=0),
        timeout=timeout,
    )
    status = rt.ContainerStatus(
        cri.ContainerStatusRequest(container_id=container_id), timeout=timeout
    ).status
    assert status.state == cri.CONTAINER_EXITED, status

    step("RemoveContainer")
    rt.RemoveContainer(
        cri.RemoveContainerRequest(container_id=container_id), timeout=timeout
    )
    containers = rt.ListContainers(cri.ListContainersRequest(), timeout=timeout)
    assert list(containers.containers) == [], containers

    step("StopPodSandbox")
    rt.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=timeout)
    listed = rt.ListPodSandbox(cri.ListPodSandboxRequest(), timeout=timeout).items
    assert [(p.id, p.state) for p in listed] == [(pod_id, cri.SANDBOX_NOTREADY)], listed

    step("RemovePodSandbox")
    rt.RemovePodSandbox(
        cri.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=timeout
    )

    step("ListPodSandbox")
    listed = rt.ListPodSandbox(cri.ListPodSandboxRequest(), timeout=timeout).items
    assert list(listed) == [], listed

    channel.close()
    print("cri_lifecycle: ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
