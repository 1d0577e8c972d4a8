//! A parser for OpenWrt UCI syntax (`/etc/config/*`).
//!
//! ```text
//! # comment
//! config <type> ['<name>']
//!     option <key> '<value>'
//!     list <key> '<value>'
//! ```
//!
//! Values may be single-quoted (no escapes), double-quoted (`\` escapes the
//! next character) or bare words; adjacent quoted parts are joined
//! (`'a'"b"` is `ab`), as UCI does. This module only splits the file into
//! sections; what the options mean is decided by [`super`].

/// One `option` or `list` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UciOption {
    pub key: String,
    pub value: String,
    /// True for `list`, false for `option`.
    pub is_list: bool,
    pub line: usize,
}

/// One `config` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub kind: String,
    pub name: Option<String>,
    pub line: usize,
    pub options: Vec<UciOption>,
}

/// A syntax error: line number and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub msg: String,
}

/// Splits `text` into sections.
pub fn parse(text: &str) -> Result<Vec<Section>, SyntaxError> {
    let mut sections: Vec<Section> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let words = split_words(raw).map_err(|msg| SyntaxError { line, msg })?;
        let Some((keyword, args)) = words.split_first() else {
            continue;
        };
        let err = |msg: String| SyntaxError { line, msg };
        match keyword.as_str() {
            "config" => {
                let (kind, name) = match args {
                    [kind] => (kind.clone(), None),
                    [kind, name] => (kind.clone(), Some(name.clone())),
                    _ => return Err(err("expected: config <type> ['<name>']".into())),
                };
                sections.push(Section {
                    kind,
                    name,
                    line,
                    options: Vec::new(),
                });
            }
            "option" | "list" => {
                let is_list = keyword == "list";
                let [key, value] = args else {
                    return Err(err(format!("expected: {keyword} <key> '<value>'")));
                };
                let Some(section) = sections.last_mut() else {
                    return Err(err(format!("'{keyword}' outside of a config section")));
                };
                section.options.push(UciOption {
                    key: key.clone(),
                    value: value.clone(),
                    is_list,
                    line,
                });
            }
            other => {
                return Err(err(format!(
                    "unknown keyword '{other}' (expected config, option or list)"
                )))
            }
        }
    }
    Ok(sections)
}

/// Splits one line into words, honouring quotes and `#` comments
/// (also used by the editable document model of `roost setup`).
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(words),
            Some(_) => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\'' => loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated ' quote".into()),
                    }
                },
                '"' => loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => word.push(c),
                            None => return Err("unterminated \" quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated \" quote".into()),
                    }
                },
                '\\' => match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("trailing backslash".into()),
                },
                c => word.push(c),
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            split_words(r#"  option  key 'a b'"c\"d"e # comment"#).unwrap(),
            vec!["option", "key", "a bc\"de"]
        );
        assert_eq!(split_words("# only").unwrap(), Vec::<String>::new());
        assert_eq!(split_words("option x ''").unwrap(), vec!["option", "x", ""]);
        assert!(split_words("option x 'open").is_err());
    }

    #[test]
    fn sections() {
        let s =
            parse("config roost 'main'\n\toption port 1\n\nconfig interface\n list a b\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name.as_deref(), Some("main"));
        assert_eq!(s[0].options[0].line, 2);
        assert!(s[1].options[0].is_list);
        assert_eq!(parse("option a b").unwrap_err().line, 1);
        assert_eq!(parse("config a\nfoo bar").unwrap_err().line, 2);
        assert!(parse("config a b c").is_err());
    }
}
