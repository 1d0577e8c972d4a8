//! Keyed BLAKE2s (RFC 7693), the only hash Roost needs: small (no tables,
//! 32-bit words, one compression per 64 bytes) and fast on 32-bit MIPS.

const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// An incremental keyed BLAKE2s computation.
#[derive(Clone)]
pub struct Blake2s {
    h: [u32; 8],
    buf: [u8; 64],
    buf_len: usize,
    /// Bytes compressed so far (the 64-bit counter t, as two words).
    t: [u32; 2],
    out_len: usize,
}

impl Blake2s {
    /// `out_len` in 1..=32, `key` at most 32 bytes (empty: unkeyed).
    pub fn new(out_len: usize, key: &[u8]) -> Blake2s {
        let out_len = out_len.clamp(1, 32);
        let key = &key[..key.len().min(32)];
        let mut h = IV;
        h[0] ^= 0x0101_0000 ^ ((key.len() as u32) << 8) ^ out_len as u32;
        let mut s = Blake2s {
            h,
            buf: [0; 64],
            buf_len: 0,
            t: [0; 2],
            out_len,
        };
        if !key.is_empty() {
            s.buf[..key.len()].copy_from_slice(key);
            s.buf_len = 64;
        }
        s
    }

    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.buf_len == 64 {
                // Only compress a full block once more input follows: the
                // last block must be compressed with the final flag.
                self.add_t(64);
                let block = self.buf;
                self.compress(&block, false);
                self.buf_len = 0;
            }
            let n = (64 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + n].copy_from_slice(&data[..n]);
            self.buf_len += n;
            data = &data[n..];
        }
    }

    /// Writes the digest into `out` (up to `out_len` bytes of it).
    pub fn finish(mut self, out: &mut [u8]) {
        self.add_t(self.buf_len as u32);
        let mut block = self.buf;
        block[self.buf_len..].fill(0);
        self.compress(&block, true);
        let mut full = [0u8; 32];
        for (i, w) in self.h.iter().enumerate() {
            full[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        let n = out.len().min(self.out_len);
        out[..n].copy_from_slice(&full[..n]);
    }

    fn add_t(&mut self, n: u32) {
        let (lo, carry) = self.t[0].overflowing_add(n);
        self.t[0] = lo;
        self.t[1] = self.t[1].wrapping_add(u32::from(carry));
    }

    fn compress(&mut self, block: &[u8; 64], last: bool) {
        let mut m = [0u32; 16];
        for (i, w) in m.iter_mut().enumerate() {
            *w = u32::from_le_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        let mut v = [0u32; 16];
        v[..8].copy_from_slice(&self.h);
        v[8..].copy_from_slice(&IV);
        v[12] ^= self.t[0];
        v[13] ^= self.t[1];
        if last {
            v[14] = !v[14];
        }
        for s in &SIGMA {
            g(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
            g(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
            g(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
            g(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
            g(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
            g(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
            g(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
            g(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
        }
        for i in 0..8 {
            self.h[i] ^= v[i] ^ v[i + 8];
        }
    }
}

#[inline(always)]
fn g(v: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize, x: u32, y: u32) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(12);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(8);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(7);
}

#[cfg(test)]
mod tests {
    use super::Blake2s;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn digest(out_len: usize, key: &[u8], parts: &[&[u8]]) -> String {
        let mut h = Blake2s::new(out_len, key);
        for p in parts {
            h.update(p);
        }
        let mut out = vec![0u8; out_len];
        h.finish(&mut out);
        hex(&out)
    }

    #[test]
    fn rfc7693_abc() {
        assert_eq!(
            digest(32, &[], &[b"abc"]),
            "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"
        );
    }

    #[test]
    fn keyed_vectors_match_python_hashlib() {
        // python3 -c "import hashlib; k=bytes(range(32));
        //   print(hashlib.blake2s(b'', key=k).hexdigest())"  (the BLAKE2 KAT's first keyed entry)
        let key: Vec<u8> = (0u8..32).collect();
        assert_eq!(
            digest(32, &key, &[]),
            "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49"
        );
        // Input of 0..=255 (several blocks, split unevenly), 16-byte output.
        let data: Vec<u8> = (0..=255u8).collect();
        let whole = digest(16, &key, &[&data]);
        let split = digest(
            16,
            &key,
            &[&data[..1], &data[1..64], &data[64..65], &data[65..]],
        );
        assert_eq!(whole, split);
        assert_eq!(whole, PY_KEYED_256_16);
    }

    // python3 -c "import hashlib; print(hashlib.blake2s(bytes(range(256)),
    //   key=bytes(range(32)), digest_size=16).hexdigest())"
    const PY_KEYED_256_16: &str = "d5a40ec316c751a63cd0d91157fa1ebb";
}
