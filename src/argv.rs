//! A small table-driven command-line parser: subcommands with long and short
//! options, `--opt=value`, `--opt value`, `-o value`, `-ovalue`, `--`, help
//! and version. It replaced clap (about 170 KiB of the MIPS router binary,
//! docs/BENCHMARKS.md "The size goal"); the messages follow clap's wording.

use std::fmt::Write as _;

/// One option of a subcommand.
pub struct Opt {
    pub long: &'static str,
    /// `'\0'`: no short form.
    pub short: char,
    /// Value name shown as `<NAME>`; `""` for a flag.
    pub value: &'static str,
    /// Given more than once: every value is kept (otherwise an error).
    pub many: bool,
    pub help: &'static str,
    /// The value when the option is not given (`""`: none), shown in the
    /// help as `[default: ...]`.
    pub default: &'static str,
}

impl Opt {
    /// The same option with a default value.
    pub const fn or(self, default: &'static str) -> Opt {
        Opt { default, ..self }
    }

    /// The help text, with the default.
    fn help_text(&self) -> String {
        if self.default.is_empty() {
            self.help.to_string()
        } else {
            format!("{} [default: {}]", self.help, self.default)
        }
    }
}

/// Shorthands for the option tables.
pub const fn flag(long: &'static str, short: char, help: &'static str) -> Opt {
    Opt {
        long,
        short,
        value: "",
        many: false,
        help,
        default: "",
    }
}

pub const fn val(long: &'static str, short: char, value: &'static str, help: &'static str) -> Opt {
    Opt {
        long,
        short,
        value,
        many: false,
        help,
        default: "",
    }
}

pub const fn vals(long: &'static str, short: char, value: &'static str, help: &'static str) -> Opt {
    Opt {
        long,
        short,
        value,
        many: true,
        help,
        default: "",
    }
}

/// A subcommand.
pub struct Sub {
    pub name: &'static str,
    /// `""`: none.
    pub alias: &'static str,
    pub about: &'static str,
    pub opts: &'static [Opt],
}

/// The program: its name, version, one-line description and subcommands.
pub struct Program {
    pub name: &'static str,
    pub version: &'static str,
    pub about: &'static str,
    pub subs: &'static [Sub],
}

/// Why parsing stopped short of a command: text for stdout (help, version;
/// exit 0) or an error for stderr (exit 2).
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    Print(String),
    Error(String),
}

const HELP: Opt = flag("help", 'h', "Print help");

/// The options given to one subcommand, by position in its table.
pub struct Matches {
    pub sub: &'static Sub,
    prog: &'static str,
    given: Vec<Vec<String>>,
}

impl Program {
    /// Parse `args` (without the program name).
    pub fn parse(&self, args: Vec<String>) -> Result<Matches, Stop> {
        let mut it = args.into_iter();
        let first = match it.next() {
            None => return Err(Stop::Error(self.help())),
            Some(a) => a,
        };
        match first.as_str() {
            "-h" | "--help" => return Err(Stop::Print(self.help())),
            "-V" | "--version" => {
                return Err(Stop::Print(format!("{} {}\n", self.name, self.version)))
            }
            "help" => {
                return Err(match it.next() {
                    None => Stop::Print(self.help()),
                    Some(s) => match self.find(&s) {
                        Some(sub) => Stop::Print(self.sub_help(sub)),
                        None => self.unknown_sub(&s),
                    },
                })
            }
            _ => {}
        }
        let Some(sub) = self.find(&first) else {
            return Err(if first.starts_with('-') {
                usage_error(
                    self.name,
                    None,
                    &format!("unexpected argument '{first}' found"),
                )
            } else {
                self.unknown_sub(&first)
            });
        };
        let mut given = vec![Vec::new(); sub.opts.len()];
        let mut options_done = false;
        while let Some(arg) = it.next() {
            if arg == "--" && !options_done {
                options_done = true;
                continue;
            }
            // (option index, value attached with '=' or after a short name)
            let (i, attached) = if options_done || !arg.starts_with('-') || arg == "-" {
                return Err(self.sub_error(sub, &format!("unexpected argument '{arg}' found")));
            } else if let Some(long) = arg.strip_prefix("--") {
                let (name, v) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (long, None),
                };
                if name == "help" {
                    return Err(Stop::Print(self.sub_help(sub)));
                }
                match sub.opts.iter().position(|o| o.long == name) {
                    Some(i) => (i, v),
                    None => {
                        return Err(
                            self.sub_error(sub, &format!("unexpected argument '--{name}' found"))
                        )
                    }
                }
            } else {
                let mut chars = arg[1..].chars();
                let c = chars.next().unwrap_or('-');
                let rest: String = chars.collect();
                if c == 'h' && rest.is_empty() {
                    return Err(Stop::Print(self.sub_help(sub)));
                }
                match sub.opts.iter().position(|o| o.short == c) {
                    Some(i) if sub.opts[i].value.is_empty() && !rest.is_empty() => {
                        return Err(self.sub_error(
                            sub,
                            &format!("unexpected value '{rest}' for '-{c}' found"),
                        ))
                    }
                    Some(i) => (i, (!rest.is_empty()).then_some(rest)),
                    None => {
                        return Err(
                            self.sub_error(sub, &format!("unexpected argument '-{c}' found"))
                        )
                    }
                }
            };
            let o = &sub.opts[i];
            let value = if o.value.is_empty() {
                if let Some(v) = attached {
                    return Err(self.sub_error(
                        sub,
                        &format!("unexpected value '{v}' for '--{}' found", o.long),
                    ));
                }
                String::new()
            } else {
                match attached.or_else(|| it.next()) {
                    Some(v) => v,
                    None => {
                        return Err(self.sub_error(
                            sub,
                            &format!(
                                "a value is required for '{}' but none was supplied",
                                show(o)
                            ),
                        ))
                    }
                }
            };
            if !o.many && !given[i].is_empty() {
                return Err(self.sub_error(
                    sub,
                    &format!("the argument '{}' cannot be used multiple times", show(o)),
                ));
            }
            given[i].push(value);
        }
        Ok(Matches {
            sub,
            prog: self.name,
            given,
        })
    }

    fn find(&self, name: &str) -> Option<&'static Sub> {
        self.subs
            .iter()
            .find(|s| s.name == name || (!s.alias.is_empty() && s.alias == name))
    }

    fn unknown_sub(&self, name: &str) -> Stop {
        usage_error(
            self.name,
            None,
            &format!("unrecognized subcommand '{name}'"),
        )
    }

    fn sub_error(&self, sub: &Sub, msg: &str) -> Stop {
        usage_error(self.name, Some(sub), msg)
    }

    /// The program's help (on stderr when no subcommand was given).
    fn help(&self) -> String {
        let mut s = format!(
            "{}\n\nUsage: {} <COMMAND>\n\nCommands:\n",
            self.about, self.name
        );
        let width = self
            .subs
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(0)
            .max(4);
        for c in self.subs {
            let _ = write!(s, "  {:width$}  {}", c.name, c.about);
            if !c.alias.is_empty() {
                let _ = write!(s, " [alias: {}]", c.alias);
            }
            s.push('\n');
        }
        let _ = write!(
            s,
            "  {:width$}  Print this message or the help of the given subcommand\n\n\
             Options:\n  -h, --help     Print help\n  -V, --version  Print version\n",
            "help"
        );
        s
    }

    fn sub_help(&self, sub: &Sub) -> String {
        let mut s = format!(
            "{}\n\nUsage: {} {} [OPTIONS]\n",
            sub.about, self.name, sub.name
        );
        if !sub.alias.is_empty() {
            let _ = writeln!(s, "Alias: {} {}", self.name, sub.alias);
        }
        s.push_str("\nOptions:\n");
        let left = |o: &Opt| {
            let short = if o.short == '\0' {
                "    ".to_string()
            } else {
                format!("-{}, ", o.short)
            };
            format!("  {short}{}", show(o))
        };
        let all = || sub.opts.iter().chain(std::iter::once(&HELP));
        let width = all().map(|o| left(o).len()).max().unwrap_or(0);
        let two_lines = all().any(|o| width + 2 + o.help_text().len() > 130);
        for o in all() {
            if two_lines {
                let _ = writeln!(s, "{}\n          {}", left(o), o.help_text());
            } else {
                let _ = writeln!(s, "{:width$}  {}", left(o), o.help_text());
            }
        }
        s
    }
}

/// A usage error in clap's words: the message, the usage line (of the
/// subcommand, or of the program), a hint.
fn usage_error(prog: &str, sub: Option<&Sub>, msg: &str) -> Stop {
    let usage = sub.map_or("<COMMAND>".to_string(), |s| format!("{} [OPTIONS]", s.name));
    Stop::Error(format!(
        "error: {msg}\n\nUsage: {prog} {usage}\n\nFor more information, try '--help'.\n"
    ))
}

/// `--long <VALUE>` or `--long`.
fn show(o: &Opt) -> String {
    if o.value.is_empty() {
        format!("--{}", o.long)
    } else {
        format!("--{} <{}>", o.long, o.value)
    }
}

impl Matches {
    fn index(&self, long: &str) -> usize {
        // The tables and the code reading them are written together; an
        // unknown name is a programming error caught by the tests.
        self.sub
            .opts
            .iter()
            .position(|o| o.long == long)
            .unwrap_or_else(|| panic!("no option --{long} in '{}'", self.sub.name))
    }

    pub fn flag(&self, long: &str) -> bool {
        !self.given[self.index(long)].is_empty()
    }

    /// Every value of a repeatable option, converted by `parse`.
    pub fn all<T>(&self, long: &str, parse: fn(&str) -> Result<T, String>) -> Result<Vec<T>, Stop> {
        let i = self.index(long);
        let mut out = Vec::new();
        for v in &self.given[i] {
            match parse(v) {
                Ok(t) => out.push(t),
                Err(e) => return Err(self.invalid(i, v, &e)),
            }
        }
        Ok(out)
    }

    fn invalid(&self, i: usize, v: &str, e: &str) -> Stop {
        Stop::Error(format!(
            "error: invalid value '{v}' for '{}': {e}\n\nFor more information, try '--help'.\n",
            show(&self.sub.opts[i])
        ))
    }

    /// The value given to a single option, else its default.
    fn get(&self, i: usize) -> Option<&str> {
        let default = self.sub.opts[i].default;
        match self.given[i].last() {
            Some(v) => Some(v),
            None => (!default.is_empty()).then_some(default),
        }
    }

    /// The value of a single option (or its default), converted by `parse`.
    pub fn one<T>(
        &self,
        long: &str,
        parse: fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, Stop> {
        let i = self.index(long);
        match self.get(i) {
            None => Ok(None),
            Some(v) => parse(v).map(Some).map_err(|e| self.invalid(i, v, &e)),
        }
    }

    /// [`Matches::one`] for an option that has a default or is required:
    /// an error names it when it is missing.
    pub fn value<T>(&self, long: &str, parse: fn(&str) -> Result<T, String>) -> Result<T, Stop> {
        self.one(long, parse)?.ok_or_else(|| self.missing(long))
    }

    /// The value as given (or the default).
    pub fn string(&self, long: &str) -> Option<String> {
        self.get(self.index(long)).map(str::to_string)
    }

    /// An error about a required option that was not given.
    pub fn missing(&self, long: &str) -> Stop {
        let o = &self.sub.opts[self.index(long)];
        let msg = format!(
            "the following required arguments were not provided:\n  {}",
            show(o)
        );
        usage_error(self.prog, Some(self.sub), &msg)
    }

    /// An error about two options given together.
    pub fn conflict(&self, a: &str, b: &str) -> Stop {
        let msg = format!("the argument '--{a}' cannot be used with '--{b}'");
        usage_error(self.prog, Some(self.sub), &msg)
    }
}

/// `str::parse` with the error as text, for [`Matches::one`] and [`Matches::all`].
pub fn parsed<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        vals("interface", 'i', "IF", "Mesh interface"),
        val("port", '\0', "N", "UDP port"),
        val("group", '\0', "ADDR", "Group").or("ff02::1"),
        flag("json", '\0', "JSON"),
        flag("all", 'a', "All"),
    ];
    const P: Program = Program {
        name: "roost",
        version: "1.2",
        about: "About",
        subs: &[Sub {
            name: "run",
            alias: "r",
            about: "Run it",
            opts: OPTS,
        }],
    };

    fn parse(a: &[&str]) -> Result<Matches, Stop> {
        P.parse(a.iter().map(|s| s.to_string()).collect())
    }

    fn err(a: &[&str]) -> String {
        match parse(a) {
            Err(Stop::Error(e)) => e,
            Err(Stop::Print(p)) => panic!("{a:?} printed {p}"),
            Ok(_) => panic!("{a:?} parsed"),
        }
    }

    #[test]
    fn options_in_every_spelling() {
        let m = parse(&[
            "r",
            "-i",
            "a",
            "--interface=b",
            "-ic",
            "--interface",
            "d",
            "--port",
            "7",
            "-a",
        ])
        .unwrap();
        assert_eq!(m.sub.name, "run");
        assert_eq!(
            m.all("interface", parsed::<String>).unwrap(),
            ["a", "b", "c", "d"]
        );
        assert_eq!(m.one("port", parsed::<u16>).unwrap(), Some(7));
        assert!(m.flag("all"));
        assert!(!m.flag("json"));
        let m = parse(&["run"]).unwrap();
        assert_eq!(m.one("port", parsed::<u16>).unwrap(), None);
        assert_eq!(m.string("port"), None);
    }

    #[test]
    fn defaults() {
        let m = parse(&["run"]).unwrap();
        assert_eq!(m.string("group").as_deref(), Some("ff02::1"));
        assert_eq!(m.value("group", parsed::<String>).unwrap(), "ff02::1");
        let m = parse(&["run", "--group", "ff02::2"]).unwrap();
        assert_eq!(m.string("group").as_deref(), Some("ff02::2"));
        match m.value("port", parsed::<u16>) {
            Err(Stop::Error(e)) => assert!(
                e.starts_with(
                    "error: the following required arguments were not provided:\n  --port <N>\n"
                ),
                "{e}"
            ),
            _ => panic!("no error"),
        }
        let Err(Stop::Print(h)) = parse(&["run", "--help"]) else {
            panic!()
        };
        assert!(h.contains("  Group [default: ff02::1]\n"), "{h}");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(err(&["run", "--bogus"]).starts_with(
            "error: unexpected argument '--bogus' found\n\nUsage: roost run [OPTIONS]"
        ));
        assert!(err(&["run", "x"]).contains("unexpected argument 'x' found"));
        assert!(err(&["run", "--", "--json"]).contains("unexpected argument '--json' found"));
        assert!(err(&["run", "-z"]).contains("unexpected argument '-z' found"));
        assert!(err(&["run", "--port"]).contains("a value is required for '--port <N>'"));
        assert!(err(&["run", "--port", "1", "--port=2"])
            .contains("'--port <N>' cannot be used multiple times"));
        assert!(err(&["run", "--json=1"]).contains("unexpected value '1' for '--json'"));
        assert!(err(&["run", "-ax"]).contains("unexpected value 'x' for '-a'"));
        assert!(err(&["bogus"]).starts_with("error: unrecognized subcommand 'bogus'"));
        assert!(err(&["--bogus"]).contains("unexpected argument '--bogus' found"));
        assert!(err(&[]).contains("Usage: roost <COMMAND>"));
        let m = parse(&["run", "--port", "x"]).unwrap();
        match m.one("port", parsed::<u16>) {
            Err(Stop::Error(e)) => assert!(
                e.starts_with("error: invalid value 'x' for '--port <N>': invalid digit"),
                "{e}"
            ),
            _ => panic!("no error"),
        }
        match m.conflict("json", "all") {
            Stop::Error(e) => {
                assert!(e.starts_with("error: the argument '--json' cannot be used with '--all'"))
            }
            Stop::Print(_) => panic!(),
        }
    }

    #[test]
    fn help_and_version() {
        let Err(Stop::Print(top)) = parse(&["--help"]) else {
            panic!()
        };
        assert!(
            top.contains("Commands:\n  run   Run it [alias: r]\n"),
            "{top}"
        );
        assert_eq!(
            parse(&["-V"]).err(),
            Some(Stop::Print("roost 1.2\n".into()))
        );
        let Err(Stop::Print(h)) = parse(&["run", "-h"]) else {
            panic!()
        };
        assert!(
            h.starts_with("Run it\n\nUsage: roost run [OPTIONS]\nAlias: roost r\n\nOptions:\n"),
            "{h}"
        );
        assert!(
            h.contains("\n  -i, --interface <IF>  Mesh interface\n"),
            "{h}"
        );
        assert!(h.contains("\n      --json            JSON\n"), "{h}");
        assert!(h.ends_with("  -h, --help            Print help\n"), "{h}");
        assert_eq!(
            parse(&["help", "run"]).err(),
            parse(&["run", "--help"]).err()
        );
        assert!(matches!(parse(&["help", "x"]), Err(Stop::Error(_))));
    }
}
