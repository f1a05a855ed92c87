//! Gives the guest a 1 MiB stack instead of the workspace's 64 KiB (plugins/.cargo/config.toml):
//! minify-html's parser recurses once per element level and needs ~1 KiB of Wasm stack per
//! level (64 KiB traps already at 100 levels). Only this crate's cdylib is affected.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=1048576");
    }
}
