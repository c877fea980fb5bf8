//! The peers written in Python (polars, PyPortfolioOpt, implicit) run from virtual
//! environments made on first use, so the comparison needs nothing installed by hand.

use anyhow::Context;

/// The Python of a virtual environment in the temporary folder, made (with `packages` from
/// PyPI) on first use; `check` is Python code that succeeds once they are installed.
pub fn venv_python(
    name: &str,
    check: &str,
    packages: &[&str],
) -> anyhow::Result<std::path::PathBuf> {
    let venv = std::env::temp_dir().join(name);
    let python = venv.join("bin").join("python");
    let ready = std::process::Command::new(&python)
        .args(["-c", check])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        eprintln!("installing {} into {}", packages.join(", "), venv.display());
        let status = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("python3 -m venv")?;
        anyhow::ensure!(status.success(), "python3 -m venv failed");
        let status = std::process::Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(packages)
            .status()
            .context("pip install")?;
        anyhow::ensure!(
            status.success(),
            "pip install {} failed",
            packages.join(" ")
        );
    }
    Ok(python)
}
