//! Server-sent events framing: bytes in, the `data` payloads of complete events out.
//!
//! Hand-written on purpose: OpenRouter sends an answer as thousands of tiny events, and the
//! benchmark showed eventsource-stream spending ~30% of the backend's CPU copying its buffer on
//! every line (`split_off`). This framer scans each read once (memchr), keeps a byte buffer with
//! the unfinished tail, and decodes UTF-8 only for complete events, so a character split across
//! reads is joined first. Per the SSE spec: lines end in LF or CRLF; `:` starts a comment
//! (OpenRouter's `: OPENROUTER PROCESSING` keep-alives); several `data:` lines join with LF;
//! a blank line ends an event; other fields (`event`, `id`, `retry`) are ignored; an event with
//! no blank line after it is never dispatched (the caller sees a truncated stream). Bytes that
//! are not UTF-8 become U+FFFD: one bad byte must not cost the whole answer.

use memchr::{memchr, memchr2};

/// The framing state of one stream.
#[derive(Debug, Default)]
pub struct Framer {
    /// Bytes of the line not yet finished.
    pending: Vec<u8>,
    /// The data of the event being read.
    data: Vec<u8>,
    has_data: bool,
    /// The last read ended in CR: an LF opening the next read ends no second line.
    after_cr: bool,
}

impl Framer {
    /// Takes one read of the body; returns the data of every event it completed, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        let mut rest = bytes;
        if std::mem::take(&mut self.after_cr) {
            rest = rest.strip_prefix(b"\n").unwrap_or(rest);
        }
        while let Some(end) = memchr2(b'\n', b'\r', rest) {
            let line = &rest[..end];
            let cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            if self.pending.is_empty() {
                self.line(line, &mut events);
            } else {
                let mut joined = std::mem::take(&mut self.pending);
                joined.extend_from_slice(line);
                self.line(&joined, &mut events);
            }
        }
        self.pending.extend_from_slice(rest);
        events
    }

    fn line(&mut self, line: &[u8], events: &mut Vec<String>) {
        if line.is_empty() {
            if self.has_data {
                self.has_data = false;
                let data = std::mem::take(&mut self.data);
                events.push(match String::from_utf8(data) {
                    Ok(text) => text,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                });
            }
            return;
        }
        if line[0] == b':' {
            return; // a comment: keep-alive
        }
        let (field, value) = match memchr(b':', line) {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &[][..]),
        };
        if field == b"data" {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            if self.has_data {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
            self.has_data = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(reads: &[&[u8]]) -> Vec<String> {
        let mut f = Framer::default();
        reads.iter().flat_map(|r| f.feed(r)).collect()
    }

    #[test]
    fn events_comments_crlf_and_multiline_data() {
        let body = b": OPENROUTER PROCESSING\r\n\r\ndata: one\r\n\r\nevent: x\ndata: two\ndata:three\nid: 7\n\n";
        assert_eq!(all(&[body]), ["one", "two\nthree"]);
    }

    #[test]
    fn any_split_gives_the_same_events_and_joins_utf8() {
        let body = "data: héllo ✓ 日本\n\n: keep-alive\n\ndata: [DONE]\n\n".as_bytes();
        for size in 1..body.len() {
            let reads: Vec<&[u8]> = body.chunks(size).collect();
            assert_eq!(
                all(&reads),
                ["héllo ✓ 日本", "[DONE]"],
                "split every {size} bytes"
            );
        }
    }

    #[test]
    fn an_event_without_its_blank_line_is_not_dispatched() {
        assert_eq!(all(&[b"data: complete\n\ndata: cut off\n"]), ["complete"]);
    }

    #[test]
    fn invalid_utf8_becomes_a_replacement_character() {
        let mut f = Framer::default();
        assert_eq!(
            f.feed(b"data: a\xffb\n\ndata: next\n\n"),
            ["a\u{fffd}b", "next"]
        );
    }

    #[test]
    fn lf_crlf_and_bare_cr_on_every_split_give_the_same_events() {
        for ending in ["\n", "\r\n", "\r"] {
            let body = format!(
                ": keep-alive{e}{e}data: one{e}{e}data: two{e}data: 2b{e}{e}data: [DONE]{e}{e}",
                e = ending
            );
            let bytes = body.as_bytes();
            for size in 1..bytes.len() {
                let reads: Vec<&[u8]> = bytes.chunks(size).collect();
                assert_eq!(
                    all(&reads),
                    ["one", "two\n2b", "[DONE]"],
                    "{ending:?} split every {size} bytes"
                );
            }
        }
    }

    #[test]
    fn a_crlf_split_between_reads_ends_one_line_only() {
        // Had the LF counted as a second line end, it would be a blank line dispatching `one`
        // alone; `one` and `two` are one event's two data lines.
        assert_eq!(all(&[b"data: one\r", b"\ndata: two\r\n\r\n"]), ["one\ntwo"]);
        // A CR, then a CRLF split over two reads: two line ends (the second one blank).
        assert_eq!(all(&[b"data: one\r", b"\r", b"\n"]), ["one"]);
    }
}
