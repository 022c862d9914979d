//! `podip import aks`: read the files, build the scenario (the `import`
//! crate), check it by the rules every scenario meets, then write it.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};

use crate::{Failure, bad_input};

/// `podip import`'s sources.
#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// A scenario from an AKS cluster's JSON (az aks show -o json, or an ARM managedClusters body).
    Aks(AksArgs),
}

#[derive(Debug, clap::Args)]
pub struct AksArgs {
    /// The cluster's JSON: `az aks show -o json`, or an ARM managedClusters body.
    pub cluster: PathBuf,
    /// A VNet the pools' subnets are in: `az network vnet show -o json`, its `create` output, or ARM JSON.
    #[arg(long, value_name = "VNET.json")]
    pub vnet: Vec<PathBuf>,
    /// A subnet no --vnet file gives, as NAME=CIDR (the last part of its ID).
    #[arg(long, value_name = "NAME=CIDR", value_parser = parse_subnet)]
    pub subnet: Vec<(String, ipnet::Ipv4Net)>,
    /// The pools from an agent pool's JSON (az aks nodepool show / list), instead of the cluster's.
    #[arg(long, value_name = "POOLS.json")]
    pub pools: Option<PathBuf>,
    /// The scenario's duration.
    #[arg(long, default_value = "30d")]
    pub duration: String,
    /// Add one deployment per pool holding PCT % of its pods (count × max_pods), for a first replay.
    #[arg(long, value_name = "PCT", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub fill: Option<u32>,
    /// Where to write the scenario; `-` is stdout.
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    pub out: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// The `$schema` the file names for editors (write it with `podip schema > scenario.schema.json`).
    #[arg(long, value_name = "URL|PATH", default_value = "scenario.schema.json")]
    pub schema: String,
}

fn parse_subnet(s: &str) -> Result<(String, ipnet::Ipv4Net), String> {
    let (name, cidr) =
        s.split_once('=').ok_or_else(|| format!("`{s}` is not NAME=CIDR, like aks-subnet=10.224.0.0/16"))?;
    let prefix = cidr.trim().parse().map_err(|_| format!("`{cidr}` is not an IPv4 prefix like 10.224.0.0/16"))?;
    if name.trim().is_empty() {
        return Err(format!("`{s}` has no subnet name before the ="));
    }
    Ok((name.trim().to_string(), prefix))
}

pub fn run(command: ImportCommand) -> Result<u8, Failure> {
    let ImportCommand::Aks(args) = command;
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the file", path.display()))
            .map_err(bad_input)
    };
    let label = |path: &Path| path.display().to_string();
    let cluster_text = read(&args.cluster)?;
    let vnet_texts: Vec<(String, String)> =
        args.vnet.iter().map(|p| Ok((label(p), read(p)?))).collect::<Result<_, Failure>>()?;
    let pools_text = args.pools.as_ref().map(|p| Ok::<_, Failure>((label(p), read(p)?))).transpose()?;
    let cluster_label = label(&args.cluster);
    let options = import::Options {
        duration: args.duration.clone(),
        fill: args.fill,
        subnets: args.subnet.clone(),
        schema: Some(args.schema.clone()),
    };
    let vnets: Vec<import::Input<'_>> = vnet_texts.iter().map(|(label, text)| import::Input { label, text }).collect();
    let pools = pools_text.as_ref().map(|(label, text)| import::Input { label, text });
    let yaml = import::aks(import::Input { label: &cluster_label, text: &cluster_text }, &vnets, pools, &options)
        .map_err(|e| bad_input(anyhow!("{e}")))?;

    // What is written must load: the rules every scenario meets, warnings shown.
    let out_label = if args.out == Path::new("-") { "the imported scenario".to_string() } else { label(&args.out) };
    match scenario::parse_str(&yaml, &out_label, &scenario::Overrides::default()) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
        }
        Err(e) => {
            return Err(bad_input(anyhow!(
                "the scenario imported from {cluster_label} does not validate, so nothing was written:\n{e}"
            )));
        }
    }
    if args.out == Path::new("-") {
        print!("{yaml}");
        return Ok(0);
    }
    if args.out.exists() && !args.force {
        return Err(bad_input(anyhow!("{}: exists; pass --force to replace it", args.out.display())));
    }
    // Written whole or not at all: a temporary file beside it, renamed.
    let tmp = args.out.with_extension("yaml.partial");
    std::fs::write(&tmp, &yaml).and_then(|()| std::fs::rename(&tmp, &args.out)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        bad_input(anyhow!("{}: cannot write: {e}", args.out.display()))
    })?;
    eprintln!("podip: wrote {}", args.out.display());
    Ok(0)
}
