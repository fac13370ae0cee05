//! `berth network ls|inspect|create|rm`: berth's bridge networks, as recorded
//! under `<root>/net/` by berth-net.

use berth_container::Root;
use berth_net::parse_cidr;

use super::Result;

#[derive(clap::Args)]
pub struct NetworkArgs {
    #[command(subcommand)]
    pub command: NetworkCommand,
}

#[derive(clap::Subcommand)]
pub enum NetworkCommand {
    /// List bridge networks
    #[command(alias = "list")]
    Ls {
        /// Print only names
        #[arg(short, long)]
        quiet: bool,
        /// Output format: table or json
        #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// Print a bridge network and its containers as JSON
    Inspect {
        /// Bridge name
        name: String,
    },
    /// Create a bridge network (or record the subnet of an existing bridge)
    Create {
        /// Subnet, e.g. 10.88.0.0/24 (gateway .1)
        #[arg(
            long,
            value_name = "CIDR",
            conflicts_with = "bip",
            required_unless_present = "bip"
        )]
        subnet: Option<String>,
        /// Gateway address and prefix, e.g. 192.168.0.1/24
        #[arg(long, value_name = "GATEWAY/PREFIX")]
        bip: Option<String>,
        /// Inter-container communication (--icc=false isolates every container on it)
        #[arg(long = "icc", value_name = "BOOL", num_args = 0..=1, require_equals = true,
              default_missing_value = "true", default_value = "true", action = clap::ArgAction::Set)]
        icc: bool,
        /// Bridge name (at most 15 bytes)
        name: String,
    },
    /// Remove a bridge network no container uses
    #[command(alias = "remove")]
    Rm {
        /// Bridge names
        #[arg(required = true)]
        names: Vec<String>,
    },
}

pub fn run(root: &Root, a: &NetworkArgs) -> Result<u8> {
    let path = root.path();
    match &a.command {
        NetworkCommand::Ls { quiet, format } => {
            let nets = berth_net::inventory::networks(path)?;
            if *quiet {
                for n in &nets {
                    println!("{}", n.name);
                }
            } else if format == "json" {
                println!("{}", serde_json::to_string(&nets)?);
            } else {
                let mut rows =
                    vec![["NAME", "SUBNET", "GATEWAY", "CONTAINERS", "BRIDGE"].map(String::from)];
                for n in &nets {
                    rows.push([
                        n.name.clone(),
                        n.subnet.clone(),
                        n.gateway.to_string(),
                        n.containers.len().to_string(),
                        if n.bridge_up { "up" } else { "absent" }.to_string(),
                    ]);
                }
                super::print_table(&rows);
            }
            Ok(0)
        }
        NetworkCommand::Inspect { name } => match berth_net::inventory::inspect(path, name)? {
            Some(n) => {
                println!("{}", serde_json::to_string_pretty(&n)?);
                Ok(0)
            }
            None => Err(format!("network {name:?}: no such network").into()),
        },
        NetworkCommand::Create {
            subnet,
            bip,
            icc,
            name,
        } => {
            let cidr = match (subnet, bip) {
                (Some(s), _) => {
                    let c = parse_cidr(s)?;
                    if c.addr() != c.network() {
                        return Err(format!("--subnet {s:?}: not a network address (did you mean {}/{} or --bip {s}?)", c.network(), c.prefix()).into());
                    }
                    c
                }
                (None, Some(b)) => {
                    let c = parse_cidr(b)?;
                    if c.addr() == c.network() {
                        return Err(format!("--bip {b:?}: expected the gateway address with its prefix, not the network address").into());
                    }
                    c
                }
                (None, None) => return Err("network create: --subnet or --bip is required".into()),
            };
            berth_net::define_bridge(path, name, cidr, *icc)?;
            println!("{name}");
            Ok(0)
        }
        NetworkCommand::Rm { names } => {
            for name in names {
                berth_net::remove_bridge(path, name)?;
                println!("{name}");
            }
            Ok(0)
        }
    }
}
