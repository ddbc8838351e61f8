//! CRC-32, the checksum a node on a [`crate::Disk`] puts in a record's
//! header so that recovery can tell a whole record from a torn or stale
//! one. It is given to the storage exercises rather than written by them:
//! what they practise is framing and recovery, not the checksum.

/// The CRC-32 (IEEE 802.3: reflected, polynomial 0xEDB88320, the one of
/// zip and Ethernet) of `bytes`, a byte at a time through a table built at
/// compile time. It catches every burst of errors up to 32 bits long; the
/// CRC of no bytes is 0.
pub fn crc32(bytes: &[u8]) -> u32 {
    let crc = bytes.iter().fold(!0u32, |crc, &byte| {
        CRC_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8)
    });
    !crc
}

/// The CRC-32 of each byte value.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut crc = n as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
            bit += 1;
        }
        table[n] = crc;
        n += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn matches_known_vectors() {
        // The check value of CRC-32/ISO-HDLC, and two others it is known by.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn matches_the_bitwise_definition() {
        let bitwise = |bytes: &[u8]| {
            let mut crc = !0u32;
            for &byte in bytes {
                crc ^= u32::from(byte);
                for _ in 0..8 {
                    crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
                }
            }
            !crc
        };
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for len in [0, 1, 7, 255, 256, 1000] {
            assert_eq!(crc32(&bytes[..len]), bitwise(&bytes[..len]), "len {len}");
        }
    }
}
