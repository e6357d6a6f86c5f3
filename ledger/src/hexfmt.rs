//! Lower-case hex of hashes on hot paths (proof bundles carry ~10 hashes per record, the
//! writer two per record): a table lookup per nibble, where `hex::encode` collects chars
//! through an iterator.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

pub fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn equals_hex_crate(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(super::encode(&bytes), hex::encode(&bytes));
        }
    }
}
