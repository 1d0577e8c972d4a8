//! A UCI file (`/etc/config/*`) as an editable document that round-trips.
//!
//! Every line read is kept verbatim: comments, blank lines, quoting and
//! indentation. Only the lines of options that are changed or added are
//! written anew (`\toption key 'value'`), so an unchanged document
//! serializes to the same bytes, and a change touches only its own lines.
//! New options go after the last option of their section (before the
//! blank and comment lines that end it); new sections go at the end.

use crate::config::uci::{split_words, SyntaxError};

/// One line of a section body.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Line {
    /// A comment or blank line, verbatim.
    Other(String),
    Opt(Opt),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Opt {
    key: String,
    value: String,
    is_list: bool,
    /// The line as read; `None` once changed or when added.
    text: Option<String>,
}

/// One `config` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub kind: String,
    pub name: Option<String>,
    header: Option<String>,
    lines: Vec<Line>,
}

/// A whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Doc {
    /// Comment and blank lines before the first section.
    head: Vec<String>,
    pub sections: Vec<Section>,
    /// Whether the text ended with a newline (new documents do).
    final_newline: bool,
}

impl Default for Doc {
    fn default() -> Doc {
        Doc {
            head: Vec::new(),
            sections: Vec::new(),
            final_newline: true,
        }
    }
}

/// `'value'`, with `'` written as `'\''` as `uci export` does.
pub fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

impl Doc {
    pub fn parse(text: &str) -> Result<Doc, SyntaxError> {
        let mut doc = Doc::default();
        let mut raw: Vec<&str> = text.split('\n').collect();
        doc.final_newline = raw.last() == Some(&"");
        if doc.final_newline {
            raw.pop();
        }
        for (i, l) in raw.iter().enumerate() {
            let line = i + 1;
            let err = |msg: String| SyntaxError { line, msg };
            let words = split_words(l.trim_end_matches('\r')).map_err(err)?;
            match words.split_first() {
                None => match doc.sections.last_mut() {
                    Some(s) => s.lines.push(Line::Other(l.to_string())),
                    None => doc.head.push(l.to_string()),
                },
                Some((k, args)) if k == "config" => {
                    let (kind, name) = match args {
                        [kind] => (kind.clone(), None),
                        [kind, name] => (kind.clone(), Some(name.clone())),
                        _ => return Err(err("expected: config <type> ['<name>']".into())),
                    };
                    doc.sections.push(Section {
                        kind,
                        name,
                        header: Some(l.to_string()),
                        lines: Vec::new(),
                    });
                }
                Some((k, args)) if k == "option" || k == "list" => {
                    let [key, value] = args else {
                        return Err(err(format!("expected: {k} <key> '<value>'")));
                    };
                    let Some(s) = doc.sections.last_mut() else {
                        return Err(err(format!("'{k}' outside of a config section")));
                    };
                    s.lines.push(Line::Opt(Opt {
                        key: key.clone(),
                        value: value.clone(),
                        is_list: k == "list",
                        text: Some(l.to_string()),
                    }));
                }
                Some((k, _)) => {
                    return Err(err(format!(
                        "unknown keyword '{k}' (expected config, option or list)"
                    )))
                }
            }
        }
        Ok(doc)
    }

    pub fn serialize(&self) -> String {
        let mut out: Vec<String> = self.head.clone();
        for s in &self.sections {
            out.push(s.header.clone().unwrap_or_else(|| match &s.name {
                Some(n) => format!("config {} {}", s.kind, quote(n)),
                None => format!("config {}", s.kind),
            }));
            for l in &s.lines {
                out.push(match l {
                    Line::Other(t) => t.clone(),
                    Line::Opt(o) => o.text.clone().unwrap_or_else(|| {
                        let kw = if o.is_list { "list" } else { "option" };
                        format!("\t{kw} {} {}", o.key, quote(&o.value))
                    }),
                });
            }
        }
        let mut text = out.join("\n");
        if self.final_newline && !out.is_empty() {
            text.push('\n');
        }
        text
    }

    /// The first section satisfying `f`.
    pub fn find(&self, f: impl Fn(&Section) -> bool) -> Option<usize> {
        self.sections.iter().position(f)
    }

    /// The section named `name`.
    pub fn named(&self, name: &str) -> Option<usize> {
        self.find(|s| s.name.as_deref() == Some(name))
    }

    /// The first section of type `kind` whose option `key` is `value`
    /// (e.g. the firewall zone whose name is `lan`).
    pub fn with_option(&self, kind: &str, key: &str, value: &str) -> Option<usize> {
        self.find(|s| s.kind == kind && s.get(key) == Some(value))
    }

    /// The section named `name`, added at the end (type `kind`) if missing.
    pub fn ensure_named(&mut self, kind: &str, name: &str) -> &mut Section {
        let i = self.ensure(kind, name);
        &mut self.sections[i]
    }

    /// The index of the section named `name`, added if missing.
    pub fn ensure(&mut self, kind: &str, name: &str) -> usize {
        match self.named(name) {
            Some(i) => i,
            None => self.push(kind, Some(name)),
        }
    }

    /// Appends a new, empty section after a blank line; returns its index.
    pub fn push(&mut self, kind: &str, name: Option<&str>) -> usize {
        let last_blank = match self.sections.last() {
            Some(s) => matches!(s.lines.last(), Some(Line::Other(t)) if t.trim().is_empty()),
            None => self.head.last().is_none_or(|t| t.trim().is_empty()),
        };
        if !last_blank {
            match self.sections.last_mut() {
                Some(s) => s.lines.push(Line::Other(String::new())),
                None => self.head.push(String::new()),
            }
        }
        self.sections.push(Section {
            kind: kind.to_string(),
            name: name.map(str::to_string),
            header: None,
            lines: Vec::new(),
        });
        self.sections.len() - 1
    }
}

impl Section {
    fn opts(&self) -> impl Iterator<Item = &Opt> {
        self.lines.iter().filter_map(|l| match l {
            Line::Opt(o) => Some(o),
            Line::Other(_) => None,
        })
    }

    /// The value of `option key` (the last one, as UCI reads it).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.opts()
            .filter(|o| o.key == key && !o.is_list)
            .last()
            .map(|o| o.value.as_str())
    }

    /// The values of `list key`.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.opts()
            .filter(|o| o.key == key && o.is_list)
            .map(|o| o.value.as_str())
            .collect()
    }

    /// Where a new option line goes: after the last option, else right
    /// after the header.
    fn insert_at(&self) -> usize {
        self.lines
            .iter()
            .rposition(|l| matches!(l, Line::Opt(_)))
            .map_or(0, |i| i + 1)
    }

    /// Replaces every line of `key` with `new` at the first one's place
    /// (or appends); nothing changes if they are already `new`.
    fn replace(&mut self, key: &str, new: Vec<Opt>) {
        let old: Vec<&Opt> = self.opts().filter(|o| o.key == key).collect();
        let same = old.len() == new.len()
            && old
                .iter()
                .zip(&new)
                .all(|(a, b)| a.value == b.value && a.is_list == b.is_list);
        if same {
            return;
        }
        let first = self
            .lines
            .iter()
            .position(|l| matches!(l, Line::Opt(o) if o.key == key));
        self.lines
            .retain(|l| !matches!(l, Line::Opt(o) if o.key == key));
        let at = match first {
            // Indices before the first removed line are unchanged.
            Some(i) => i,
            None => self.insert_at(),
        };
        for (k, o) in new.into_iter().enumerate() {
            self.lines.insert(at + k, Line::Opt(o));
        }
    }

    /// `option key 'value'`.
    pub fn set(&mut self, key: &str, value: &str) -> &mut Section {
        let o = Opt {
            key: key.to_string(),
            value: value.to_string(),
            is_list: false,
            text: None,
        };
        self.replace(key, vec![o]);
        self
    }

    /// Sets `option key` only if the section has none (a default that
    /// leaves the user's value alone).
    pub fn set_default(&mut self, key: &str, value: &str) -> &mut Section {
        if self.opts().all(|o| o.key != key) {
            self.set(key, value);
        }
        self
    }

    /// `list key` holding exactly `values`, in order.
    pub fn set_list<S: AsRef<str>>(&mut self, key: &str, values: &[S]) -> &mut Section {
        let new = values
            .iter()
            .map(|v| Opt {
                key: key.to_string(),
                value: v.as_ref().to_string(),
                is_list: true,
                text: None,
            })
            .collect();
        self.replace(key, new);
        self
    }

    /// Adds `value` to `list key` unless it is there.
    pub fn add_list(&mut self, key: &str, value: &str) -> &mut Section {
        if !self.list(key).contains(&value) {
            let at = self
                .lines
                .iter()
                .rposition(|l| matches!(l, Line::Opt(o) if o.key == key && o.is_list))
                .map_or_else(|| self.insert_at(), |i| i + 1);
            let o = Opt {
                key: key.to_string(),
                value: value.to_string(),
                is_list: true,
                text: None,
            };
            self.lines.insert(at, Line::Opt(o));
        }
        self
    }

    /// Removes `value` from `list key`.
    pub fn del_list(&mut self, key: &str, value: &str) -> &mut Section {
        if self.list(key).contains(&value) {
            self.lines
                .retain(|l| !matches!(l, Line::Opt(o) if o.key == key && o.value == value));
        }
        self
    }

    /// Removes every `option`/`list` line of `key`.
    pub fn del(&mut self, key: &str) -> &mut Section {
        self.lines
            .retain(|l| !matches!(l, Line::Opt(o) if o.key == key));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# head\n\nconfig interface 'lan'\n\toption device 'br-lan'\n  option  proto \"static\" # why\n\tlist dns '1.1.1.1'\n\n# next\nconfig zone\n\toption name lan\n";

    #[test]
    fn round_trip_and_edits() {
        let mut d = Doc::parse(TEXT).unwrap();
        assert_eq!(d.serialize(), TEXT);
        assert_eq!(d.sections[0].get("proto"), Some("static"));
        // Setting the same value keeps the odd formatting.
        d.sections[0].set("proto", "static");
        d.sections[1].set_default("name", "wan");
        assert_eq!(d.serialize(), TEXT);
        d.sections[0]
            .set("ipaddr", "10.0.0.1")
            .add_list("dns", "9.9.9.9");
        d.sections[1].set("input", "ACCEPT");
        let z = d.with_option("zone", "name", "lan").unwrap();
        assert_eq!(z, 1);
        d.ensure_named("zone", "mesh").set("name", "mesh");
        let want = "# head\n\nconfig interface 'lan'\n\toption device 'br-lan'\n  option  proto \"static\" # why\n\tlist dns '1.1.1.1'\n\tlist dns '9.9.9.9'\n\toption ipaddr '10.0.0.1'\n\n# next\nconfig zone\n\toption name lan\n\toption input 'ACCEPT'\n\nconfig zone 'mesh'\n\toption name 'mesh'\n";
        assert_eq!(d.serialize(), want);
        let mut again = Doc::parse(want).unwrap();
        again.ensure_named("zone", "mesh").set("name", "mesh");
        assert_eq!(again.serialize(), want);
        again.sections[0].del("dns").del_list("x", "y");
        assert!(!again.serialize().contains("dns"));
    }

    #[test]
    fn quoting_and_errors() {
        let mut d = Doc::default();
        d.ensure_named("system", "s").set("k", "it's");
        let t = d.serialize();
        assert_eq!(t, "config system 's'\n\toption k 'it'\\''s'\n");
        assert_eq!(Doc::parse(&t).unwrap().sections[0].get("k"), Some("it's"));
        assert_eq!(Doc::parse("config a\nfoo").unwrap_err().line, 2);
        assert_eq!(Doc::parse("option a b").unwrap_err().line, 1);
        assert_eq!(Doc::parse("config a b").unwrap().serialize(), "config a b");
    }
}
