//! The `custom` getrandom 0.3 backend for the minify plugin.
//!
//! minify-html pulls in lightningcss and ahash, which need `getrandom` 0.3; on
//! `wasm32-unknown-unknown` it has no default source, so the guest build selects
//! `--cfg getrandom_backend="custom"` (plugins/.cargo/config.toml) and this crate provides the
//! function it calls. The sandbox offers no entropy, so the bytes are a SplitMix64 stream seeded
//! from the host clock: they only seed ahash's hash tables (HashDoS resistance), never anything
//! secret. This is the only `unsafe` item of the plugin (an exported `#[no_mangle]` symbol), kept
//! in its own crate so the plugin itself can `#![forbid(unsafe_code)]`.
#![no_std]

#[cfg(target_arch = "wasm32")]
mod backend {
    use core::sync::atomic::{AtomicU64, Ordering};

    /// Mixes in a counter so two calls in the same millisecond differ.
    static CALLS: AtomicU64 = AtomicU64::new(0);

    /// One SplitMix64 step.
    fn splitmix64(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Called by getrandom's `custom` backend.
    ///
    /// # Safety
    /// getrandom passes a valid, writable `dest` of `len` bytes.
    #[no_mangle]
    unsafe extern "Rust" fn __getrandom_v03_custom(
        dest: *mut u8,
        len: usize,
    ) -> Result<(), getrandom::Error> {
        let calls = CALLS.fetch_add(1, Ordering::Relaxed);
        let mut state = weir_plugin_sdk::host::now_ms() ^ calls.rotate_left(32);
        // SAFETY: getrandom guarantees `dest` points to `len` writable bytes.
        let out = unsafe { core::slice::from_raw_parts_mut(dest, len) };
        for chunk in out.chunks_mut(8) {
            let word = splitmix64(&mut state).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}
