//! Draws from a resident's or the institution's ChaCha stream.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A random UUID in version 4 format, from the generator's own stream.
pub(super) fn uuid(rng: &mut ChaCha8Rng) -> String {
    let mut b: [u8; 16] = rng.r#gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

pub(super) fn pick<'t, T>(rng: &mut ChaCha8Rng, items: &'t [T]) -> &'t T {
    &items[rng.gen_range(0..items.len())]
}

/// Irwin–Hall approximation of a normal draw: only additions, so bit-identical on every
/// platform, and bounded to ±6 sd.
pub(super) fn normal(rng: &mut ChaCha8Rng, mean: f64, sd: f64) -> f64 {
    let sum: f64 = (0..12).map(|_| rng.r#gen::<f64>()).sum();
    mean + sd * (sum - 6.0)
}

pub(super) fn clamp(v: f64, lo: f64, hi: f64) -> f64 {
    v.clamp(lo, hi)
}
