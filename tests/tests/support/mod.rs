//! What the end-to-end tests share: the `sextant` binary cargo built beside them, with
//! no developer's configuration or environment leaking in.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary cargo built beside this test (`target/<profile>/sextant`).
pub fn sextant() -> Command {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let bin: PathBuf = dir.join(format!("sextant{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p sextant-cli` (cargo test --workspace builds it for the CLI's own tests)",
        bin.display()
    );
    let mut command = Command::new(bin);
    // Neither a developer's configuration nor environment may leak into the test.
    command
        .env_remove("SEXTANT_DATABASE_URL")
        .env_remove("SEXTANT_JWT_HS256_SECRET")
        .env_remove("SEXTANT_JWT_RS256_PUBLIC_KEY")
        .env_remove("SEXTANT_JWT_JWKS_FILE")
        .env_remove("SEXTANT_MASTER_KEY")
        .env_remove("SEXTANT_MASTER_KEY_FILE")
        .env_remove("SEXTANT_AUDIT_KEY_FILE")
        .env("SEXTANT_LOG", "warn");
    command
}
