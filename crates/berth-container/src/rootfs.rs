//! Rootfs.
