//! `elmbench list`: what models, datasets and experiments exist.

pub fn run() -> anyhow::Result<()> {
    println!("models:");
    for (name, what) in crate::models::CATALOGUE {
        println!("  {name:<14} {what}");
    }
    println!("datasets:");
    if crate::DATASETS.is_empty() {
        println!("  (none yet)");
    }
    for (name, what) in crate::DATASETS {
        println!("  {name:<14} {what}");
    }
    println!("experiments:");
    println!("  (none yet)");
    Ok(())
}
