//! Word expansion: tilde, parameters, command substitution, arithmetic, field
//! splitting, pathname expansion (globbing) and quote removal.

use futures::future::BoxFuture;

use super::ast::*;
use super::interp::{Body, Ctl, Shell};
use crate::process::Stdio;

/// The longest text one word may expand to (and a command substitution may capture):
/// a shell needing more is OOM-killed (SIGKILL, 137), as a real one ends when memory
/// runs out, instead of growing the process running the simulation (`x=$x$x` in a
/// loop doubles without bound).
pub(crate) const MAX_WORD_BYTES: usize = 64 << 20;

fn segs_len(segs: &[Seg]) -> usize {
    segs.iter()
        .map(|s| match s {
            Seg::Text { s, .. } => s.len(),
            Seg::Break => 1,
        })
        .sum()
}

/// A piece of expanded text.
enum Seg {
    /// `quoted`: no splitting or globbing; `split`: subject to field splitting (the
    /// result of an unquoted expansion).
    Text {
        s: String,
        quoted: bool,
        split: bool,
    },
    /// A field boundary (between the words of `"$@"`).
    Break,
}

#[derive(Default)]
struct Field {
    value: String,
    pattern: String,
    glob: bool,
}

fn has_glob_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Escapes pattern characters so the text matches literally.
pub(crate) fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn has_unescaped_meta(s: &str) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

/// Matches `text` against a shell pattern (`*`, `?`, `[...]`, `\x`).
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    match_from(&p, 0, &t, 0)
}

fn match_from(p: &[char], mut pi: usize, t: &[char], mut ti: usize) -> bool {
    // Iterative with backtracking to the last `*`.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    while pi < p.len() && p[pi] == '*' {
                        pi += 1;
                    }
                    star = Some((pi, ti));
                    continue;
                }
                '?' if ti < t.len() => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' if ti < t.len() => {
                    if let Some((matched, next)) = bracket(p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() && ti < t.len() && p[pi + 1] == t[ti] => {
                    pi += 2;
                    ti += 1;
                    continue;
                }
                c if c != '*'
                    && c != '?'
                    && c != '['
                    && c != '\\'
                    && ti < t.len()
                    && c == t[ti] =>
                {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '\\' if pi + 1 == p.len() && ti < t.len() && t[ti] == '\\' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        } else if ti == t.len() {
            return true;
        }
        match star {
            Some((sp, st)) if st < t.len() => {
                pi = sp;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            _ => return false,
        }
    }
}

/// Matches `c` against the bracket expression at `p[start]`; returns whether it
/// matched and the index after the expression, or `None` if it is not one.
fn bracket(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if ch == '[' && p.get(i + 1) == Some(&':') {
            let rest: String = p[i + 2..].iter().collect();
            if let Some(end) = rest.find(":]") {
                let class = &rest[..end];
                let ok = match class {
                    "alpha" => c.is_alphabetic(),
                    "digit" => c.is_ascii_digit(),
                    "alnum" => c.is_alphanumeric(),
                    "upper" => c.is_uppercase(),
                    "lower" => c.is_lowercase(),
                    "space" => c.is_whitespace(),
                    "punct" => c.is_ascii_punctuation(),
                    "xdigit" => c.is_ascii_hexdigit(),
                    _ => false,
                };
                matched |= ok;
                i += 2 + end + 2;
                continue;
            }
        }
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            ch
        };
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = p[i + 2];
            matched |= lo <= c && c <= hi;
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
}

impl Shell {
    /// Expands a word into fields (splitting and globbing).
    pub(crate) async fn expand_fields(&mut self, w: &Word) -> Result<Vec<String>, Ctl> {
        let mut segs = Vec::new();
        self.expand_parts(&w.parts, false, &mut segs).await?;
        self.check_word_size(&segs).await;
        let ifs = self.get_var("IFS").unwrap_or_else(|| " \t\n".into());
        let mut fields: Vec<Field> = Vec::new();
        let mut cur: Option<Field> = None;
        for seg in segs {
            match seg {
                Seg::Break => {
                    if let Some(f) = cur.take() {
                        fields.push(f);
                    }
                }
                Seg::Text {
                    s, quoted: true, ..
                } => {
                    let f = cur.get_or_insert_with(Field::default);
                    f.pattern += &escape_glob(&s);
                    f.value += &s;
                }
                Seg::Text {
                    s,
                    quoted: false,
                    split: false,
                } => {
                    let f = cur.get_or_insert_with(Field::default);
                    f.glob |= has_glob_meta(&s);
                    f.pattern += &s;
                    f.value += &unescape_lit(&s);
                }
                Seg::Text {
                    s,
                    quoted: false,
                    split: true,
                } => {
                    for c in s.chars() {
                        if ifs.contains(c) {
                            if matches!(c, ' ' | '\t' | '\n') {
                                if let Some(f) = cur.take() {
                                    fields.push(f);
                                }
                            } else {
                                fields.push(cur.take().unwrap_or_default());
                            }
                        } else {
                            let f = cur.get_or_insert_with(Field::default);
                            if matches!(c, '*' | '?' | '[') {
                                f.glob = true;
                            }
                            if c == '\\' {
                                f.pattern.push('\\');
                            }
                            f.pattern.push(c);
                            f.value.push(c);
                        }
                    }
                }
            }
        }
        if let Some(f) = cur {
            fields.push(f);
        }
        let mut out = Vec::with_capacity(fields.len());
        for f in fields {
            if f.glob && !self.st.opts.noglob {
                let matches = self.glob_paths(&f.pattern);
                if !matches.is_empty() {
                    out.extend(matches);
                    continue;
                }
            }
            out.push(f.value);
        }
        Ok(out)
    }

    /// Expands a word into one string (no splitting or globbing): assignments,
    /// redirection targets, `case` words, here-documents.
    pub(crate) async fn expand_string(&mut self, w: &Word) -> Result<String, Ctl> {
        let mut segs = Vec::new();
        self.expand_parts(&w.parts, false, &mut segs).await?;
        self.check_word_size(&segs).await;
        let mut out = String::new();
        for seg in segs {
            match seg {
                Seg::Text {
                    s,
                    quoted: false,
                    split: false,
                } => out += &unescape_lit(&s),
                Seg::Text { s, .. } => out += &s,
                Seg::Break => out.push(' '),
            }
        }
        Ok(out)
    }

    /// Expands a word into a pattern (quoted parts match literally).
    pub(crate) async fn expand_pattern(&mut self, w: &Word) -> Result<String, Ctl> {
        let mut segs = Vec::new();
        self.expand_parts(&w.parts, false, &mut segs).await?;
        self.check_word_size(&segs).await;
        let mut out = String::new();
        for seg in segs {
            match seg {
                Seg::Text {
                    s, quoted: true, ..
                } => out += &escape_glob(&s),
                Seg::Text { s, .. } => out += &s,
                Seg::Break => out.push(' '),
            }
        }
        Ok(out)
    }

    /// OOM-kills the shell when a word expanded past [`MAX_WORD_BYTES`].
    async fn check_word_size(&self, segs: &[Seg]) {
        if segs_len(segs) > MAX_WORD_BYTES {
            self.system.out_of_memory().await;
        }
    }

    fn expand_parts<'a>(
        &'a mut self,
        parts: &'a [Part],
        in_dq: bool,
        out: &'a mut Vec<Seg>,
    ) -> BoxFuture<'a, Result<(), Ctl>> {
        // Nested expansions (`${x:-${y:-...}}`) recurse here, as deep as the syntax.
        crate::process::stack::boxed(async move {
            for part in parts {
                match part {
                    Part::Lit(s) => out.push(Seg::Text {
                        s: s.clone(),
                        quoted: in_dq,
                        split: false,
                    }),
                    Part::Quoted(s) => out.push(Seg::Text {
                        s: s.clone(),
                        quoted: true,
                        split: false,
                    }),
                    Part::Double(inner) => {
                        let only_at = matches!(inner.as_slice(), [Part::Param(p)] if p.name == "@" && p.op == ParamOp::Plain);
                        if !only_at {
                            out.push(Seg::Text {
                                s: String::new(),
                                quoted: true,
                                split: false,
                            });
                        }
                        self.expand_parts(inner, true, out).await?;
                    }
                    Part::Param(p) => self.expand_param(p, in_dq, out).await?,
                    Part::Command(list) => {
                        let s = self.command_subst(list).await?;
                        out.push(Seg::Text {
                            s,
                            quoted: in_dq,
                            split: !in_dq,
                        });
                    }
                    Part::Arith(w) => {
                        let text = self.expand_string(w).await?;
                        match super::arith::eval(&text, self) {
                            Ok(n) => out.push(Seg::Text {
                                s: n.to_string(),
                                quoted: in_dq,
                                split: !in_dq,
                            }),
                            Err(msg) => {
                                let p = self.prefix(None);
                                self.err(format!("{p}{msg}")).await;
                                return Err(Ctl::Exit(2));
                            }
                        }
                    }
                    Part::Tilde(user) => {
                        let home = if user.is_empty() {
                            self.get_var("HOME").unwrap_or_default()
                        } else {
                            self.home_of(user).unwrap_or_else(|| format!("~{user}"))
                        };
                        out.push(Seg::Text {
                            s: home,
                            quoted: true,
                            split: false,
                        });
                    }
                }
            }
            Ok(())
        })
    }

    fn home_of(&self, user: &str) -> Option<String> {
        let passwd = self
            .system
            .vfs()
            .read_to_end("/etc/passwd", self.system.access())
            .ok()?;
        crate::process::users::parse_passwd(&String::from_utf8_lossy(&passwd))
            .into_iter()
            .find(|e| e.name == user)
            .map(|e| e.home)
    }

    fn param_value(&self, name: &str) -> Option<String> {
        match name {
            "?" => Some(self.st.status.to_string()),
            "$" => Some(self.st.shell_pid.to_string()),
            "!" => self.st.last_bg.map(|p| p.to_string()),
            "#" => Some(self.st.positional.len().to_string()),
            "0" => Some(self.st.arg0.clone()),
            "-" => Some(self.st.opts.flags()),
            "@" | "*" => {
                let sep = self
                    .get_var("IFS")
                    .map(|s| s.chars().next().map(String::from).unwrap_or_default())
                    .unwrap_or_else(|| " ".into());
                if self.st.positional.is_empty() {
                    None
                } else {
                    Some(self.st.positional.join(&sep))
                }
            }
            n if n.bytes().all(|b| b.is_ascii_digit()) => {
                let i: usize = n.parse().ok()?;
                self.st.positional.get(i.checked_sub(1)?).cloned()
            }
            n => self.get_var(n),
        }
    }

    async fn expand_param(
        &mut self,
        p: &Param,
        in_dq: bool,
        out: &mut Vec<Seg>,
    ) -> Result<(), Ctl> {
        let push = |out: &mut Vec<Seg>, s: String| {
            out.push(Seg::Text {
                s,
                quoted: in_dq,
                split: !in_dq,
            })
        };
        if (p.name == "@" || p.name == "*") && p.op == ParamOp::Plain {
            if in_dq && p.name == "*" {
                if let Some(v) = self.param_value("*") {
                    push(out, v);
                }
                return Ok(());
            }
            for (i, arg) in self.st.positional.clone().into_iter().enumerate() {
                if i > 0 {
                    out.push(Seg::Break);
                }
                push(out, arg);
            }
            return Ok(());
        }
        let value = self.param_value(&p.name);
        let is_set_nonempty = |colon: bool, v: &Option<String>| match v {
            None => false,
            Some(s) => !(colon && s.is_empty()),
        };
        match &p.op {
            ParamOp::Plain => match value {
                Some(v) => push(out, v),
                None => {
                    if self.st.opts.nounset && !matches!(p.name.as_str(), "!" | "@" | "*") {
                        let prefix = self.prefix(None);
                        self.err(format!("{prefix}{}: parameter not set", p.name))
                            .await;
                        return Err(Ctl::Exit(2));
                    }
                }
            },
            ParamOp::Length => {
                let n = match p.name.as_str() {
                    "@" | "*" => self.st.positional.len(),
                    _ => value.map(|v| v.chars().count()).unwrap_or(0),
                };
                push(out, n.to_string());
            }
            ParamOp::Default(colon, w) => {
                if is_set_nonempty(*colon, &value) {
                    push(out, value.unwrap_or_default());
                } else {
                    self.expand_parts(&w.parts, in_dq, out).await?;
                }
            }
            ParamOp::Assign(colon, w) => {
                if is_set_nonempty(*colon, &value) {
                    push(out, value.unwrap_or_default());
                } else {
                    let v = self.expand_string(w).await?;
                    if let Err(m) = self.set_var(&p.name, &v) {
                        let prefix = self.prefix(None);
                        self.err(format!("{prefix}{m}")).await;
                        return Err(Ctl::Exit(2));
                    }
                    push(out, v);
                }
            }
            ParamOp::Error(colon, w) => {
                if is_set_nonempty(*colon, &value) {
                    push(out, value.unwrap_or_default());
                } else {
                    let mut msg = self.expand_string(w).await?;
                    if msg.is_empty() {
                        msg = if value.is_none() {
                            "parameter not set".into()
                        } else {
                            "parameter null or not set".into()
                        };
                    }
                    let prefix = self.prefix(None);
                    self.err(format!("{prefix}{}: {msg}", p.name)).await;
                    return Err(Ctl::Exit(2));
                }
            }
            ParamOp::Alt(colon, w) => {
                if is_set_nonempty(*colon, &value) {
                    self.expand_parts(&w.parts, in_dq, out).await?;
                }
            }
            ParamOp::TrimPrefix(longest, w) | ParamOp::TrimSuffix(longest, w) => {
                let pat = self.expand_pattern(w).await?;
                let v = value.unwrap_or_default();
                let chars: Vec<char> = v.chars().collect();
                let n = chars.len();
                let prefix_op = matches!(p.op, ParamOp::TrimPrefix(..));
                let result = if prefix_op {
                    let mut cut = None;
                    let range: Box<dyn Iterator<Item = usize>> = if *longest {
                        Box::new((0..=n).rev())
                    } else {
                        Box::new(0..=n)
                    };
                    for k in range {
                        let head: String = chars[..k].iter().collect();
                        if glob_match(&pat, &head) {
                            cut = Some(k);
                            break;
                        }
                    }
                    match cut {
                        Some(k) => chars[k..].iter().collect(),
                        None => v,
                    }
                } else {
                    let mut cut = None;
                    let range: Box<dyn Iterator<Item = usize>> = if *longest {
                        Box::new(0..=n)
                    } else {
                        Box::new((0..=n).rev())
                    };
                    for k in range {
                        let tail: String = chars[k..].iter().collect();
                        if glob_match(&pat, &tail) {
                            cut = Some(k);
                            break;
                        }
                    }
                    match cut {
                        Some(k) => chars[..k].iter().collect(),
                        None => v,
                    }
                };
                push(out, result);
            }
        }
        Ok(())
    }

    /// `$(...)`: runs the list in a subshell and collects its output, without the
    /// trailing newlines.
    async fn command_subst(&mut self, list: &std::sync::Arc<List>) -> Result<String, Ctl> {
        let Some((stdout, mut reader)) = self.system.pipe() else {
            return Err(self.pipe_failed().await);
        };
        let stdio = Stdio {
            stdin: self.fds.stdin.share(),
            stdout,
            stderr: self.fds.stderr.clone(),
        };
        let Ok(handle) = self.spawn_subshell(Body::List(std::sync::Arc::clone(list)), stdio) else {
            return Err(self.fork_failed().await);
        };
        let mut buf = Vec::new();
        while let Some(chunk) = reader.next().await {
            buf.extend_from_slice(&chunk);
            if buf.len() > MAX_WORD_BYTES {
                handle.kill_tree(crate::process::Signal::SIGKILL);
                self.system.out_of_memory().await;
            }
        }
        let status = self.wait_foreground(&handle).await;
        self.cmdsub_status = Some(status.code());
        self.st.status = status.code();
        while buf.last() == Some(&b'\n') {
            buf.pop();
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Pathname expansion: the sorted paths matching `pattern`.
    fn glob_paths(&self, pattern: &str) -> Vec<String> {
        let vfs = self.system.vfs();
        let access = self.system.access();
        let absolute = pattern.starts_with('/');
        let mut current: Vec<String> = vec![if absolute { "/".into() } else { String::new() }];
        let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
        for comp in comps {
            let mut next = Vec::new();
            if has_unescaped_meta(comp) {
                for base in &current {
                    let dir = if base.is_empty() {
                        self.st.cwd.clone()
                    } else {
                        crate::process::vfs::normalize(&self.st.cwd, base)
                    };
                    let Ok(names) = vfs.read_dir(&dir, access) else {
                        continue;
                    };
                    for name in names {
                        if name.starts_with('.') && !comp.starts_with('.') {
                            continue;
                        }
                        if glob_match(comp, &name) {
                            next.push(join(base, &name));
                        }
                    }
                }
                next.sort();
            } else {
                let lit = unescape(comp);
                for base in &current {
                    let candidate = join(base, &lit);
                    let abs = crate::process::vfs::normalize(&self.st.cwd, &candidate);
                    if vfs.stat(&abs, false, access).is_ok() {
                        next.push(candidate);
                    }
                }
            }
            current = next;
            if current.is_empty() {
                break;
            }
        }
        if pattern.ends_with('/') {
            current.retain(|p| {
                let abs = crate::process::vfs::normalize(&self.st.cwd, p);
                vfs.stat(&abs, true, access)
                    .is_ok_and(|s| s.kind == crate::process::vfs::FileKind::Dir)
            });
            for p in &mut current {
                p.push('/');
            }
        }
        current
    }
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_owned()
    } else if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

/// Unquoted literal text has no escapes left (the parser turned them into quoted
/// parts), so it is used as is.
fn unescape_lit(s: &str) -> String {
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns_match_stars_questions_brackets_and_escapes() {
        assert!(glob_match("*.txt", "a.txt"));
        assert!(!glob_match("*.txt", "a.txd"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[!a-c]x", "bx"));
        assert!(glob_match("[[:digit:]]*", "1abc"));
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("\\*", "a"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXbY"));
        assert!(glob_match(&escape_glob("a*b"), "a*b"));
    }
}
