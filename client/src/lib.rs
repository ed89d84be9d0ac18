//! A Kubernetes CRI v1 client (in progress).
