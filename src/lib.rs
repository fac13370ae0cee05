//! berth: a Linux container runtime as a library.
//!
//! Quick start — run a bundle's container and wait for it:
//!
//! ```no_run
//! use berth::container::{create, start, delete, CreateOptions, Root};
//! let root = Root::new("/run/berth");
//! let c = create(&root, &CreateOptions { id: "web".into(), bundle: "/srv/web".into(), ..Default::default() })?;
//! start(&root, "web")?;
//! # let _ = (c, delete(&root, "web", true));
//! # Ok::<(), berth::container::Error>(())
//! ```
//!
//! The pieces: [`container`] (the OCI lifecycle, exec, rootfs, capabilities,
//! seccomp), [`cgroups`] (limits on v1, v2 and hybrid hierarchies) and [`net`]
//! (bridges, veth, IPAM, published ports).

pub use berth_cgroups as cgroups;
pub use berth_container as container;
/// The OCI runtime-spec types (`Spec`, `LinuxResources`, ...) the APIs take.
pub use berth_container::oci_spec;
pub use berth_net as net;
