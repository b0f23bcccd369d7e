//! `elmbench list`: what models, datasets and experiments exist.

use crate::fetch::manifest::Manifest;

pub fn run() -> anyhow::Result<()> {
    println!("models:");
    for (name, what) in crate::models::CATALOGUE {
        println!("  {name:<14} {what}");
    }
    println!("tasks ([task] name = ..., reproduce's task = ...):");
    for (name, what) in [
        ("neuronio", "fit a detailed L5 neuron's spikes and soma voltage (Figures 2-4, Table S4)"),
        ("shd", "Spiking Heidelberg Digits: 20 spoken digits from 700 cochlear channels (Figure 5)"),
        ("shd-adding", "two SHD digits in a row; the class is the sum of their values, 19 classes (Figure 5)"),
        ("lra-listops", "LRA ListOps: the value of a nested MIN/MAX/MED/SM expression, 10 classes (Table 1)"),
        ("lra-text", "LRA Text: IMDB review sentiment from characters, 4,096 steps (Table 1)"),
        ("lra-retrieval", "LRA Retrieval: do two AAN papers cite each other, 2 x 4,000 characters (Table 1)"),
        ("lra-image", "LRA Image: grey CIFAR-10 pixel by pixel, 1,024 steps, 10 classes (Table 1)"),
        ("lra-pathfinder", "LRA Pathfinder: are two dots on one dashed path, 32 x 32 pixels (Table 1)"),
        ("lra-pathx", "LRA Path-X: Pathfinder at 128 x 128, 16,384 steps (Table 1)"),
    ] {
        println!("  {name:<14} {what}");
    }
    println!("datasets (elmbench fetch):");
    let manifest = Manifest::builtin()?;
    let mut names: Vec<&str> = manifest.files.iter().map(|f| f.dataset.as_str()).collect();
    names.dedup();
    for name in names {
        let files: Vec<&str> = manifest.files.iter().filter(|f| f.dataset == name).map(|f| f.name.as_str()).collect();
        println!("  {name:<14} {}", files.join(", "));
    }
    println!("synthetic surrogates (elmbench synth):");
    println!("  {:<14} a simulated dendritic neuron in the real pickle format", "neuronio");
    println!("  {:<14} spoken-digit-like spike patterns in the real HDF5 layout", "shd");
    println!("  {:<14} the six LRA tasks in the real files and folders (lra/, cifar10/, imdb/)", "lra");
    println!("training configurations: configs/neuronio/*.toml, configs/shd/*.toml, configs/lra/*.toml");
    println!("experiments (elmbench reproduce <name> --tier smoke|quick|paper):");
    match crate::experiments::spec::list(std::path::Path::new(".")) {
        Ok(names) if !names.is_empty() => {
            for name in names {
                let title = crate::experiments::ExperimentSpec::load(std::path::Path::new("."), &name)
                    .map(|s| s.title)
                    .unwrap_or_else(|e| format!("(invalid: {e:#})"));
                println!("  {name:<14} {title}");
            }
        }
        _ => println!("  (no benchmarks/ folder here; run from the repository root)"),
    }
    Ok(())
}
