//! The rows of a CSV file and the cells of each, found 64 bytes at a time: the splitter
//! under [`super::CsvReader`].
//!
//! A row of `requests.csv` is dense with quotes (every doubled quote of a JSON body or a
//! version token), and a reader that stops at each quote, comma and line end pays for
//! every stop. [`Rows`] classifies a block of 64 bytes at once instead: one mask each of
//! its quotes, commas and line ends (AVX2 where the CPU has it, else SSE2 on x86-64, a
//! plain loop elsewhere), the quoted spans from the running parity of the quotes (a quote
//! opens or closes a span, so a doubled one closes and reopens it: one carry-less
//! multiplication where the CPU has it), and the commas and line ends outside a span are
//! the row's delimiters. A fourth mask, of the bytes above ASCII, says whether the row is
//! all ASCII, so that its cells need no UTF-8 check. A cell is handed out as it is in
//! the file, quotes and all; what its text is, is the caller's business.
//!
//! The CSV is RFC 4180's: cells between commas, a cell that holds a comma, a quote or a
//! line break quoted, with its quotes doubled; a row ends at `\n` or `\r\n` outside
//! quotes, the last one may have no end, and a blank line is no row. A row is capped at
//! [`super::MAX_LINE`] bytes, so a file that is no history ends with an error, not with
//! memory full.

use std::io::{self, Read};

/// What the reader asks its input for at a time.
pub(super) const CHUNK: usize = 256 * 1024;

/// Reads rows from `input`.
pub(super) struct Rows<R> {
    input: R,
    /// Bytes read and not yet handed out are `buf[at..filled]`.
    buf: Vec<u8>,
    at: usize,
    filled: usize,
    eof: bool,
    /// Where each comma between the current row's cells is, from the row's start.
    commas: Vec<u32>,
    /// The line the next row starts on, from 1.
    line: u64,
    /// Whether the CPU has AVX2 and carry-less multiplication: blocks are classified
    /// 32 bytes at a time, and a quoted span found in one multiplication.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    wide: bool,
}

/// One row: its bytes (without the line end) and where its cells are.
pub(super) struct Row<'a> {
    bytes: &'a [u8],
    commas: &'a [u32],
    line: u64,
    ascii: bool,
}

impl<'a> Row<'a> {
    /// How many cells the row has.
    pub fn len(&self) -> usize {
        self.commas.len() + 1
    }

    /// Cell `i`, as it is in the file.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let start = match i {
            0 => 0,
            _ => *self.commas.get(i - 1)? as usize + 1,
        };
        let end = self
            .commas
            .get(i)
            .map_or(self.bytes.len(), |&at| at as usize);
        self.bytes.get(start..end)
    }

    /// Every cell, in order, as it is in the file: what [`Row::get`] gives for each
    /// index, in one pass.
    pub fn cells(&self) -> impl Iterator<Item = &'a [u8]> {
        let bytes = self.bytes;
        let mut start = 0;
        self.commas
            .iter()
            .map(|&at| at as usize)
            .chain(std::iter::once(bytes.len()))
            .map(move |end| {
                let cell = bytes.get(start..end).unwrap_or_default();
                start = end + 1;
                cell
            })
    }

    /// The line the row starts on, from 1.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Whether every byte of the row is ASCII, so any part of it is UTF-8 as it is.
    pub fn ascii(&self) -> bool {
        self.ascii
    }
}

/// Why no row came.
#[derive(Debug)]
pub(super) enum RowError {
    Io(io::Error),
    /// The row that starts on this line is longer than [`super::MAX_LINE`].
    TooLong(u64),
}

/// What a scan of the bytes read found.
enum Scan {
    /// A row: its bytes end at `content` (before its line end), the next row starts at
    /// `next`, and it spans `lines` lines (its line end and those inside its quotes).
    Row {
        content: usize,
        next: usize,
        lines: u64,
        ascii: bool,
    },
    /// The row goes on past the bytes read.
    More,
}

impl<R: Read> Rows<R> {
    pub fn new(input: R) -> Rows<R> {
        Rows {
            input,
            buf: vec![0; CHUNK],
            at: 0,
            filled: 0,
            eof: false,
            commas: Vec::with_capacity(64),
            line: 1,
            wide: wide(),
        }
    }

    /// The next row; `None` at the end of the input.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, RowError> {
        loop {
            if self.at == self.filled && self.eof {
                return Ok(None);
            }
            match self.scan() {
                Scan::Row {
                    content,
                    next,
                    lines,
                    ascii,
                } => {
                    let (start, line) = (self.at, self.line);
                    self.at = next;
                    self.line += lines;
                    if content > start {
                        return Ok(Some(Row {
                            bytes: &self.buf[start..content],
                            commas: &self.commas,
                            line,
                            ascii,
                        }));
                    }
                    // A blank line.
                }
                Scan::More => self.fill()?,
            }
        }
    }

    /// Moves the bytes not handed out to the front of the buffer and reads more after
    /// them, growing the buffer while a row fills it.
    fn fill(&mut self) -> Result<(), RowError> {
        let pending = self.filled - self.at;
        if pending > super::MAX_LINE {
            return Err(RowError::TooLong(self.line));
        }
        self.buf.copy_within(self.at..self.filled, 0);
        (self.at, self.filled) = (0, pending);
        if self.buf.len() - self.filled < CHUNK / 2 {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.filled += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RowError::Io(e)),
            }
        }
    }

    /// Finds the end of the row that starts at `self.at`, and its commas.
    fn scan(&mut self) -> Scan {
        #[cfg(target_arch = "x86_64")]
        if self.wide {
            // SAFETY: `wide` is true only on a CPU with AVX2 and PCLMULQDQ.
            return unsafe { self.scan_wide() };
        }
        self.scan_with(masks, prefix_xor)
    }

    /// [`Rows::scan`] with the instructions of [`wide`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,pclmulqdq")]
    unsafe fn scan_wide(&mut self) -> Scan {
        // SAFETY (both): the caller's CPU has the features these need.
        self.scan_with(
            |b| unsafe { wide_masks(b) },
            |x| unsafe { wide_prefix_xor(x) },
        )
    }

    /// [`Rows::scan`], with a block's masks and the quoted spans found by these.
    #[inline(always)]
    fn scan_with(
        &mut self,
        masks: impl Fn(&[u8; 64]) -> [u64; 4],
        prefix_xor: impl Fn(u64) -> u64,
    ) -> Scan {
        let (start, filled) = (self.at, self.filled);
        self.commas.clear();
        let mut inside = 0u64; // all ones while a quoted span goes on past a block
        let mut lines = 0u64;
        let mut high = 0u64; // the row's bytes of 0x80 and above, in the blocks so far
        let mut block = start;
        while block < filled {
            let bytes = &self.buf[block..filled.min(block + 64)];
            let [quotes, commas, ends, above] = match <&[u8; 64]>::try_from(bytes) {
                Ok(whole) => masks(whole),
                Err(_) => {
                    // The last few bytes read: the rest of the block is zeros, which
                    // are none of the four.
                    let mut padded = [0u8; 64];
                    padded[..bytes.len()].copy_from_slice(bytes);
                    masks(&padded)
                }
            };
            let quoted = prefix_xor(quotes) ^ inside;
            // The row's end, if it is in this block, and the commas before it.
            let end = ends & !quoted;
            let before_end = match end {
                0 => !0,
                _ => (1u64 << end.trailing_zeros()) - 1,
            };
            let mut delimiters = commas & !quoted & before_end;
            // Room for the block's commas (64 at most) is made once, where a `push` per
            // comma checked the capacity each time.
            self.commas.reserve(64);
            let kept = self.commas.len();
            let room = self.commas.spare_capacity_mut();
            let mut n = 0;
            let offset = (block - start) as u32;
            while delimiters != 0 {
                if let Some(slot) = room.get_mut(n) {
                    slot.write(offset + delimiters.trailing_zeros());
                    n += 1;
                }
                delimiters &= delimiters - 1;
            }
            // SAFETY: the `n` slots after the row's commas so far were written just now.
            unsafe { self.commas.set_len(kept + n) };
            if end != 0 {
                let bit = end.trailing_zeros();
                let at = block + bit as usize;
                lines += u64::from((ends & quoted & before_end).count_ones()) + 1;
                high |= above & before_end;
                return Scan::Row {
                    content: self.before_cr(start, at),
                    next: at + 1,
                    lines,
                    ascii: high == 0,
                };
            }
            lines += u64::from((ends & quoted).count_ones());
            high |= above;
            inside = 0u64.wrapping_sub(quoted >> 63);
            block += 64;
        }
        if !self.eof {
            return Scan::More;
        }
        // The last row, with no line end.
        Scan::Row {
            content: self.before_cr(start, filled),
            next: filled,
            lines,
            ascii: high == 0,
        }
    }

    /// Where the bytes of the row from `start` to `end` end: before the `\r` of a
    /// `\r\n`.
    fn before_cr(&self, start: usize, end: usize) -> usize {
        if end > start && self.buf[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }
}

/// Bit `i` of the result is the parity of the set bits of `x` up to and including bit
/// `i`: set from an opening quote up to the byte before its closing one.
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// Whether this CPU has what [`wide_masks`] and [`wide_prefix_xor`] need.
fn wide() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// [`masks`] 32 bytes at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn wide_masks(block: &[u8; 64]) -> [u64; 4] {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
    };
    let mut out = [0u64; 4];
    let wanted = [b'"', b',', b'\n'].map(|b| _mm256_set1_epi8(b as i8));
    for (k, half) in block.chunks_exact(32).enumerate() {
        // SAFETY: the load reads the 32 bytes of one `chunks_exact(32)` chunk.
        let v = unsafe { _mm256_loadu_si256(half.as_ptr().cast::<__m256i>()) };
        for (mask, byte) in out.iter_mut().zip(wanted) {
            let bits = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, byte)) as u32;
            *mask |= u64::from(bits) << (32 * k);
        }
        out[3] |= u64::from(_mm256_movemask_epi8(v) as u32) << (32 * k);
    }
    out
}

/// [`prefix_xor`] in one carry-less multiplication by all ones.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
#[inline]
unsafe fn wide_prefix_xor(x: u64) -> u64 {
    use std::arch::x86_64::{
        _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set1_epi8, _mm_set_epi64x,
    };
    let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1), 0);
    _mm_cvtsi128_si64(product) as u64
}

/// The quotes, commas and line ends of a block, and its bytes of 0x80 and above (not
/// ASCII): bit `i` of each mask says byte `i`.
#[cfg(target_arch = "x86_64")]
fn masks(block: &[u8; 64]) -> [u64; 4] {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut out = [0u64; 4];
    // SAFETY: SSE2 is part of every x86-64 CPU, and each load reads the 16 bytes of one
    // `chunks_exact(16)` chunk (an unaligned load may start anywhere).
    unsafe {
        let wanted = [b'"', b',', b'\n'].map(|b| _mm_set1_epi8(b as i8));
        for (k, sixteen) in block.chunks_exact(16).enumerate() {
            let v = _mm_loadu_si128(sixteen.as_ptr().cast::<__m128i>());
            for (mask, byte) in out.iter_mut().zip(wanted) {
                let bits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, byte)) as u16;
                *mask |= u64::from(bits) << (16 * k);
            }
            // The top bit of each byte.
            out[3] |= u64::from(_mm_movemask_epi8(v) as u16) << (16 * k);
        }
    }
    out
}

#[cfg(not(target_arch = "x86_64"))]
fn masks(block: &[u8; 64]) -> [u64; 4] {
    plain_masks(block)
}

/// [`masks`] a byte at a time.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn plain_masks(block: &[u8; 64]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (i, &b) in block.iter().enumerate() {
        for (mask, wanted) in out.iter_mut().zip([b'"', b',', b'\n']) {
            *mask |= u64::from(b == wanted) << i;
        }
        out[3] |= u64::from(!b.is_ascii()) << i;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its bytes this many at a time.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// Every row of `text` as its cells, with the line each starts on, read through a
    /// reader that hands out `chunk` bytes at a time.
    fn split(text: &[u8], chunk: usize) -> Vec<(u64, Vec<String>)> {
        let mut rows = Rows::new(Trickle(text, chunk));
        let mut out = Vec::new();
        while let Some(row) = rows.next_row().unwrap() {
            let cells: Vec<String> = (0..row.len())
                .map(|i| String::from_utf8(row.get(i).unwrap().to_vec()).unwrap())
                .collect();
            let in_one_pass: Vec<String> = row
                .cells()
                .map(|c| String::from_utf8(c.to_vec()).unwrap())
                .collect();
            assert_eq!(in_one_pass, cells);
            out.push((row.line(), cells));
        }
        out
    }

    #[test]
    fn the_masks_are_the_bytes_they_say() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2_000 {
            let mut block = [0u8; 64];
            for b in &mut block {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = [b'"', b',', b'\n', b'a', b'\r', 0x80, 0, 0x7f, 0xff][(state % 9) as usize];
            }
            assert_eq!(masks(&block), plain_masks(&block), "{block:?}");
            #[cfg(target_arch = "x86_64")]
            if wide() {
                // SAFETY: the CPU has the features, as `wide` says.
                let (wide, plain) = (unsafe { wide_masks(&block) }, plain_masks(&block));
                assert_eq!(wide, plain, "{block:?}");
                let quotes = plain[0];
                assert_eq!(unsafe { wide_prefix_xor(quotes) }, prefix_xor(quotes));
            }
        }
    }

    #[test]
    fn the_narrow_and_the_wide_scans_split_alike() {
        let mut text = Vec::new();
        for n in 0..300usize {
            let cell = format!("\"{}\"\"{}\n,\"", "q".repeat(n % 97), ",".repeat(n % 7));
            text.extend_from_slice(format!("{},{cell},{n}\r\n", "p".repeat(n % 70)).as_bytes());
            if n % 11 == 0 {
                text.extend_from_slice("é,\n\n".as_bytes());
            }
        }
        let read = |wide: bool| {
            let mut rows = Rows::new(Trickle(&text, 100));
            rows.wide = wide && super::wide();
            let mut out = Vec::new();
            while let Some(row) = rows.next_row().unwrap() {
                let cells: Vec<Vec<u8>> = row.cells().map(<[u8]>::to_vec).collect();
                out.push((row.line(), row.ascii(), cells));
            }
            out
        };
        let narrow = read(false);
        assert_eq!(narrow.len(), 300 + 300 / 11 + 1);
        assert_eq!(read(true), narrow);
    }

    #[test]
    fn cells_quotes_line_ends_and_blank_lines_split_as_rfc_4180_says() {
        let text = b"a,\"b,c\",\"d\"\"e\"\r\n\n\"x\ny\",,\r\n\r\nlast,\"\"\"\"";
        let want = vec![
            (1, vec!["a", "\"b,c\"", "\"d\"\"e\""]),
            (3, vec!["\"x\ny\"", "", ""]),
            (6, vec!["last", "\"\"\"\""]),
        ];
        let want: Vec<(u64, Vec<String>)> = want
            .into_iter()
            .map(|(l, c)| (l, c.into_iter().map(String::from).collect()))
            .collect();
        for chunk in [1, 2, 3, 7, 64, 1 << 20] {
            assert_eq!(split(text, chunk), want, "chunks of {chunk}");
        }
    }

    #[test]
    fn rows_across_blocks_and_chunks_keep_their_quoted_spans() {
        // Cells of every length around a block's 64 bytes, quoted spans that cross
        // blocks, and doubled quotes at a block's edge.
        let mut text = String::new();
        let mut want = Vec::new();
        for n in 0..200 {
            let plain = "p".repeat(n % 70);
            let quoted = format!("\"{}\"\"{}\n,\"", "q".repeat(n), ",".repeat(n % 5));
            text.push_str(&format!("{plain},{quoted},{n}\n"));
            want.push(vec![plain, quoted, n.to_string()]);
        }
        for chunk in [5, 63, 64, 65, 4096] {
            let rows = split(text.as_bytes(), chunk);
            let cells: Vec<Vec<String>> = rows.iter().map(|(_, c)| c.clone()).collect();
            assert_eq!(cells, want, "chunks of {chunk}");
            let lines: Vec<u64> = rows.iter().map(|(l, _)| *l).collect();
            assert_eq!(lines, (0..200).map(|n| 1 + 2 * n).collect::<Vec<u64>>());
        }
    }

    #[test]
    fn a_row_with_a_byte_above_ascii_anywhere_is_not_ascii() {
        for len in [1, 63, 64, 65, 200] {
            for at in 0..len {
                for chunk in [7, 64, 4096] {
                    let mut text = vec![b'a'; len];
                    text[at] = 0xc3;
                    text.extend_from_slice(b"\nplain,row\n");
                    let mut rows = Rows::new(Trickle(&text, chunk));
                    let first = rows.next_row().unwrap().unwrap();
                    assert!(!first.ascii(), "len {len}, at {at}, chunks of {chunk}");
                }
            }
        }
        let mut rows = Rows::new(&b"plain,\"quoted \"\"cell\"\"\"\r\n\xc3\xa9\n"[..]);
        assert!(rows.next_row().unwrap().unwrap().ascii());
        assert!(!rows.next_row().unwrap().unwrap().ascii());
        // The last row, with no line end.
        let mut rows = Rows::new(&b"plain\nlast \xc3\xa9"[..]);
        assert!(rows.next_row().unwrap().unwrap().ascii());
        assert!(!rows.next_row().unwrap().unwrap().ascii());
    }

    #[test]
    fn a_row_over_the_cap_is_an_error_on_its_line() {
        let mut rows = Rows::new(io::repeat(b'x'));
        match rows.next_row() {
            Err(RowError::TooLong(1)) => {}
            Err(e) => panic!("{e:?}"),
            Ok(row) => panic!("a row of {:?} cells", row.map(|r| r.len())),
        }
        let empty: &[u8] = b"";
        assert!(Rows::new(empty).next_row().unwrap().is_none());
    }
}
