//! A server-sent events parser for the portal's event stream: bytes in, whole events out
//! (`event:` name, `data:` lines joined by newlines; comments and unknown fields skipped).

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` name (`message` when none was given).
    pub name: String,
    /// The data lines, joined by `\n`.
    pub data: String,
}

/// Accumulates bytes and yields events as they complete.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    name: String,
    data: Vec<String>,
}

/// Largest event accepted (a bundle with many sites and TLS keys stays far below).
pub const MAX_EVENT_BYTES: usize = 32 << 20;

impl Parser {
    /// Feeds `chunk`; returns the events it completed, or an error when an event grows past
    /// [`MAX_EVENT_BYTES`].
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>, String> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.is_empty() {
                if !self.data.is_empty() {
                    let name = std::mem::take(&mut self.name);
                    events.push(Event {
                        name: if name.is_empty() {
                            "message".into()
                        } else {
                            name
                        },
                        data: std::mem::take(&mut self.data).join("\n"),
                    });
                }
                self.name.clear();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.name = value.to_string(),
                "data" => self.data.push(value.to_string()),
                _ => {}
            }
        }
        let pending = self.buf.len() + self.data.iter().map(String::len).sum::<usize>();
        if pending > MAX_EVENT_BYTES {
            return Err(format!(
                "an event from the portal is larger than {MAX_EVENT_BYTES} bytes"
            ));
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_lines() {
        let mut p = Parser::default();
        assert!(p.feed(b": keepalive\n\nevent: bun").expect("ok").is_empty());
        let out = p
            .feed(b"dle\r\ndata: {\"a\":\ndata: 1}\r\n\r\ndata:x\n\n")
            .expect("ok");
        assert_eq!(
            out,
            vec![
                Event {
                    name: "bundle".into(),
                    data: "{\"a\":\n1}".into()
                },
                Event {
                    name: "message".into(),
                    data: "x".into()
                }
            ]
        );
    }

    #[test]
    fn oversized_events_are_refused() {
        let mut p = Parser::default();
        let big = vec![b'a'; MAX_EVENT_BYTES + 1];
        assert!(p.feed(&big).is_err());
    }
}
