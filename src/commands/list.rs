//! `elmbench list`: what models, datasets and experiments exist.

pub fn run() -> anyhow::Result<()> {
    println!("models:");
    for (name, what) in crate::models::CATALOGUE {
        println!("  {name:<14} {what}");
    }
    Ok(())
}
