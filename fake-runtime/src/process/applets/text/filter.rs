//! `grep` (also `egrep`, `fgrep`): lines selected by basic or extended regular expressions.

use crate::process::ExitStatus;
use crate::process::applets::{Env, Lines};
use crate::process::program::ProgramContext;

/// Translates a POSIX basic regular expression into `regex` syntax.
fn bre_to_regex(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut at_start = true;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                match n {
                    '(' | ')' | '{' | '}' | '|' | '+' | '?' => out.push(n),
                    '<' | '>' => out += "\\b",
                    'w' | 'W' | 's' | 'S' | 'b' | 'B' => {
                        out.push('\\');
                        out.push(n);
                    }
                    d if d.is_ascii_digit() => {
                        // Back-references are not supported by `regex`: match the digit.
                        out.push(d);
                    }
                    other => out += &regex::escape(&other.to_string()),
                }
                at_start = n == '(' || n == '|';
                i += 2;
                continue;
            }
            '[' => {
                let (class, next) = bracket_to_regex(&chars, i);
                out += &class;
                i = next;
                at_start = false;
                continue;
            }
            '*' if at_start => out += "\\*",
            '^' if at_start => out.push('^'),
            '$' if i + 1 == chars.len()
                || (chars.get(i + 1) == Some(&'\\')
                    && matches!(chars.get(i + 2), Some(')') | Some('|'))) =>
            {
                out.push('$')
            }
            '.' | '*' => out.push(c),
            other => out += &regex::escape(&other.to_string()),
        }
        at_start = false;
        i += 1;
    }
    out
}

/// Copies a bracket expression, escaping what `regex` would treat specially.
fn bracket_to_regex(chars: &[char], start: usize) -> (String, usize) {
    let mut out = String::from("[");
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') || chars.get(i) == Some(&'!') {
        out.push('^');
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        out += "\\]";
        i += 1;
    }
    while i < chars.len() {
        let c = chars[i];
        if c == ']' {
            out.push(']');
            return (out, i + 1);
        }
        if c == '['
            && chars.get(i + 1) == Some(&':')
            && let Some(end) = (i + 2..chars.len().saturating_sub(1))
                .find(|&k| chars[k] == ':' && chars[k + 1] == ']')
        {
            out.extend(&chars[i..end + 2]);
            i = end + 2;
            continue;
        }
        match c {
            '\\' | '[' | '&' | '~' | '-'
                if !(c == '-' && i > start + 1 && chars.get(i + 1) != Some(&']')) =>
            {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    // Unterminated: treat the `[` literally.
    (format!("\\[{}", &out[1..]), chars.len())
}

fn ere_to_regex(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '[' => {
                let (class, next) = bracket_to_regex(&chars, i);
                out += &class;
                i = next;
                continue;
            }
            '\\' if matches!(chars.get(i + 1), Some('<') | Some('>')) => {
                out += "\\b";
                i += 2;
                continue;
            }
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                if n.is_ascii_alphanumeric()
                    && !matches!(n, 'w' | 'W' | 's' | 'S' | 'b' | 'B' | 'd' | 'D')
                {
                    out.push(n);
                } else {
                    out.push('\\');
                    out.push(n);
                }
                i += 2;
                continue;
            }
            '{' if !chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) => out += "\\{",
            c => out.push(c),
        }
        i += 1;
    }
    out
}

pub(super) async fn grep(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let name = env.name.clone();
    let mut extended = name == "egrep";
    let mut fixed = name == "fgrep";
    let (mut invert, mut ignore_case, mut count, mut quiet, mut number) =
        (false, false, false, false, false);
    let (mut files_with, mut files_without, mut no_name, mut with_name) =
        (false, false, false, false);
    let (mut only, mut word, mut line_match, mut silent) = (false, false, false, false);
    let mut patterns: Vec<String> = Vec::new();
    let mut operands = Vec::new();
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut i = 0;
    let mut opts_done = false;
    while i < args.len() {
        let a = &args[i];
        if opts_done || !a.starts_with('-') || a == "-" {
            operands.push(a.clone());
            i += 1;
            continue;
        }
        if a == "--" {
            opts_done = true;
            i += 1;
            continue;
        }
        let flags: Vec<char> = a[1..].chars().collect();
        let mut k = 0;
        while k < flags.len() {
            match flags[k] {
                'v' => invert = true,
                'i' | 'y' => ignore_case = true,
                'c' => count = true,
                'q' => quiet = true,
                'n' => number = true,
                'E' => extended = true,
                'F' => fixed = true,
                'G' => {}
                'l' => files_with = true,
                'L' => files_without = true,
                'h' => no_name = true,
                'H' => with_name = true,
                'o' => only = true,
                'w' => word = true,
                'x' => line_match = true,
                's' => silent = true,
                'r' | 'R' | 'a' | 'I' => {}
                'e' | 'f' => {
                    let rest: String = flags[k + 1..].iter().collect();
                    let value = if !rest.is_empty() {
                        rest
                    } else {
                        i += 1;
                        match args.get(i) {
                            Some(v) => v.clone(),
                            None => {
                                env.error(format!("option requires an argument -- '{}'", flags[k]))
                                    .await;
                                return env.usage("grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]...").await;
                            }
                        }
                    };
                    if flags[k] == 'e' {
                        patterns.push(value);
                    } else {
                        match env.open(&value) {
                            Ok(mut src) => {
                                let mut lines = Lines::default();
                                while let Some(l) = lines.next(&mut env, &mut src).await {
                                    let l = String::from_utf8_lossy(&l);
                                    patterns.push(l.trim_end_matches('\n').to_owned());
                                }
                            }
                            Err(e) => {
                                env.error(format!("{value}: {e}")).await;
                                return ExitStatus::Exited(2);
                            }
                        }
                    }
                    k = flags.len();
                    continue;
                }
                other => {
                    env.error(format!("invalid option -- '{other}'")).await;
                    return env.usage("grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]...").await;
                }
            }
            k += 1;
        }
        i += 1;
    }
    if patterns.is_empty() {
        if operands.is_empty() {
            return env.usage("grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]...").await;
        }
        patterns.push(operands.remove(0));
    }
    let mut alts = Vec::new();
    for p in &patterns {
        // A pattern with newlines is several patterns.
        for piece in p.split('\n') {
            let re = if fixed {
                regex::escape(piece)
            } else if extended {
                ere_to_regex(piece)
            } else {
                bre_to_regex(piece)
            };
            alts.push(format!("(?:{re})"));
        }
    }
    let mut re = alts.join("|");
    if word {
        re = format!("\\b(?:{re})\\b");
    }
    if line_match {
        re = format!("^(?:{re})$");
    }
    let regex = match regex::bytes::RegexBuilder::new(&re)
        .case_insensitive(ignore_case)
        .unicode(false)
        .build()
    {
        Ok(r) => r,
        Err(_) => {
            env.error(format!("bad regex '{}'", patterns.join("\n")))
                .await;
            return ExitStatus::Exited(2);
        }
    };
    if operands.is_empty() {
        operands.push("-".into());
    }
    let show_name = (operands.len() > 1 || with_name) && !no_name;
    let mut any = false;
    let mut error = false;
    for f in &operands {
        let mut src = match env.open(f) {
            Ok(s) => s,
            Err(e) => {
                if !silent {
                    let _ = env.out.flush().await;
                    env.error(format!("{f}: {e}")).await;
                }
                error = true;
                continue;
            }
        };
        let display = if f == "-" {
            "(standard input)"
        } else {
            f.as_str()
        };
        let mut lines = Lines::default();
        let mut matches = 0u64;
        let mut lineno = 0u64;
        while let Some(line) = lines.next(&mut env, &mut src).await {
            lineno += 1;
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            let hit = regex.is_match(body) != invert;
            if !hit {
                continue;
            }
            matches += 1;
            any = true;
            if quiet {
                return env.finish(0).await;
            }
            if files_with || files_without {
                break;
            }
            if count {
                continue;
            }
            let mut prefix = String::new();
            if show_name {
                prefix += display;
                prefix.push(':');
            }
            if number {
                prefix += &format!("{lineno}:");
            }
            let r = if only && !invert {
                let mut r = Ok(());
                for m in regex.find_iter(body) {
                    if m.as_bytes().is_empty() {
                        continue;
                    }
                    let mut l = prefix.clone().into_bytes();
                    l.extend_from_slice(m.as_bytes());
                    l.push(b'\n');
                    r = env.out.write(&l).await;
                    if r.is_err() {
                        break;
                    }
                }
                r
            } else {
                let mut l = prefix.into_bytes();
                l.extend_from_slice(body);
                l.push(b'\n');
                env.out.write(&l).await
            };
            if r.is_err() {
                return env.sigpipe().await;
            }
        }
        let r = if (files_with && matches > 0) || (files_without && matches == 0) {
            env.out.write(format!("{display}\n").as_bytes()).await
        } else if count {
            let text = if show_name {
                format!("{display}:{matches}\n")
            } else {
                format!("{matches}\n")
            };
            env.out.write(text.as_bytes()).await
        } else {
            Ok(())
        };
        if r.is_err() {
            return env.sigpipe().await;
        }
    }
    let status = if error && !(quiet && any) {
        2
    } else if any {
        0
    } else {
        1
    };
    env.finish(status).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_regex_translation_keeps_bre_meaning() {
        let re = regex::Regex::new(&bre_to_regex("a\\(b\\)*c+")).unwrap();
        assert!(re.is_match("abbc+"));
        assert!(!re.is_match("abbcc"));
        let re = regex::Regex::new(&bre_to_regex("^[0-9]\\{2\\}$")).unwrap();
        assert!(re.is_match("42"));
        assert!(!re.is_match("4"));
        let re = regex::Regex::new(&ere_to_regex("a|b+")).unwrap();
        assert!(re.is_match("bb"));
    }
}
