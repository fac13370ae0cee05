//! Capabilities: see the security helper.
