//! A hand-written recursive-descent parser for the POSIX-sh subset, with busybox ash's
//! syntax error messages (`syntax error: unexpected "fi"`,
//! `syntax error: unexpected end of file (expecting "done")`, ...).

use std::sync::Arc;

use super::ast::*;
use crate::process::stack::{self, MAX_SYNTAX_DEPTH};

/// A syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// The message after `sh: ` (`syntax error: ...`).
    pub msg: String,
    /// Whether more input could complete the script (the error is at end of input).
    pub at_eof: bool,
    /// The line the error is on.
    pub line: u32,
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for", "{",
    "}", "!", "in",
];

const OPS: &[&str] = &[
    "&&", "||", ";;", "<<-", "<<", "<&", "<>", "<", ">>", ">&", ">|", ">", ";", "&", "|", "(", ")",
];

fn is_meta(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')'
    )
}

pub(crate) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The parser state over one script text.
pub(crate) struct Parser {
    s: Vec<char>,
    pos: usize,
    line: u32,
    /// How deeply nested the construct being parsed is (see [`MAX_SYNTAX_DEPTH`]).
    depth: u32,
}

impl Parser {
    pub(super) fn new(text: &str) -> Parser {
        Parser {
            s: text.chars().collect(),
            pos: 0,
            line: 1,
            depth: 0,
        }
    }

    /// A parser for text nested in the current construct (a backquoted command, the
    /// inside of `$((...))`, a here-document body): it starts at the current depth.
    fn nested(&self, text: &str) -> Parser {
        Parser {
            depth: self.depth,
            ..Parser::new(text)
        }
    }

    /// Parses a whole script.
    pub(super) fn parse_program(text: &str) -> Result<List, ParseError> {
        Parser::new(text).parse_all()
    }

    fn parse_all(&mut self) -> Result<List, ParseError> {
        let mut all = List::default();
        while let Some(list) = self.next_command()? {
            all.items.extend(list.items);
        }
        Ok(all)
    }

    /// Parses one more level of nesting with `f` (a command, `${...}` or `$((...))`):
    /// refused inside more than [`MAX_SYNTAX_DEPTH`] levels, and run on a grown stack
    /// when the thread's runs low.
    fn deeper<T>(
        &mut self,
        f: impl FnOnce(&mut Parser) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        if self.depth > MAX_SYNTAX_DEPTH {
            return Err(ParseError {
                msg: stack::too_deep_message(MAX_SYNTAX_DEPTH),
                at_eof: false,
                line: self.line,
            });
        }
        self.depth += 1;
        let r = stack::grow(|| f(self));
        self.depth -= 1;
        r
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.pos + n).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Skips blanks, line continuations and comments (not newlines).
    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(' ') | Some('\t') => self.pos += 1,
                Some('\\') if self.peek_at(1) == Some('\n') => {
                    self.pos += 2;
                    self.line += 1;
                }
                Some('#') => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// Skips blanks, comments and newlines.
    fn skip_newlines(&mut self) {
        loop {
            self.skip_blanks();
            if self.peek() == Some('\n') {
                self.bump();
            } else {
                return;
            }
        }
    }

    /// Whether only blanks, comments and newlines remain.
    pub(super) fn at_eof(&mut self) -> bool {
        let (pos, line) = (self.pos, self.line);
        self.skip_newlines();
        let end = self.at_end();
        self.pos = pos;
        self.line = line;
        end
    }

    /// The operator (or `"\n"`) at the current position, after blanks.
    fn peek_op(&mut self) -> Option<&'static str> {
        self.skip_blanks();
        if self.peek() == Some('\n') {
            return Some("\n");
        }
        OPS.iter().copied().find(|op| {
            op.chars()
                .enumerate()
                .all(|(i, c)| self.peek_at(i) == Some(c))
        })
    }

    fn eat_op(&mut self, op: &str) {
        self.skip_blanks();
        for _ in op.chars() {
            self.bump();
        }
    }

    fn io_number(&self) -> Option<(u32, usize)> {
        let mut n = 0;
        while self.peek_at(n).is_some_and(|c| c.is_ascii_digit()) {
            n += 1;
        }
        if n == 0 || !matches!(self.peek_at(n), Some('<') | Some('>')) {
            return None;
        }
        let digits: String = self.s[self.pos..self.pos + n].iter().collect();
        digits.parse().ok().map(|d| (d, n))
    }

    /// The keyword at the current position, without consuming it. Only a word of
    /// plain characters can be one, so the scan stops at the first quote or expansion
    /// (reading the whole word would parse its `$(...)` again at every level: time
    /// exponential in the nesting).
    fn peek_keyword(&mut self) -> Option<&'static str> {
        let (pos, line) = (self.pos, self.line);
        self.skip_blanks();
        let mut word = String::new();
        let mut plain = true;
        let mut i = self.pos;
        while let Some(&c) = self.s.get(i) {
            if is_meta(c) {
                break;
            }
            match c {
                '\\' if self.s.get(i + 1) == Some(&'\n') => i += 2,
                '\'' | '"' | '\\' | '$' | '`' => {
                    plain = false;
                    break;
                }
                _ => {
                    word.push(c);
                    i += 1;
                    if word.len() > 5 {
                        plain = false;
                        break;
                    }
                }
            }
        }
        self.pos = pos;
        self.line = line;
        if !plain || word.starts_with('~') {
            return None;
        }
        KEYWORDS.iter().copied().find(|k| *k == word)
    }

    fn consume_word(&mut self) {
        self.skip_blanks();
        let _ = self.read_word();
    }

    /// How ash names the token at the current position in error messages.
    fn token_desc(&mut self) -> (String, bool) {
        let (pos, line) = (self.pos, self.line);
        self.skip_blanks();
        let desc = if self.at_end() {
            ("end of file".to_owned(), true)
        } else if self.peek() == Some('\n') {
            ("newline".to_owned(), false)
        } else if self.io_number().is_some()
            || matches!(self.peek_op(), Some(op) if op.starts_with('<') || op.starts_with('>'))
        {
            ("redirection".to_owned(), false)
        } else if let Some(op) = self.peek_op() {
            (format!("\"{op}\""), false)
        } else if let Some(kw) = self.peek_keyword() {
            (format!("\"{kw}\""), false)
        } else {
            ("word".to_owned(), false)
        };
        self.pos = pos;
        self.line = line;
        desc
    }

    fn unexpected(&mut self, expecting: Option<&str>) -> ParseError {
        let (desc, at_eof) = self.token_desc();
        let mut msg = format!("syntax error: unexpected {desc}");
        if let Some(e) = expecting {
            msg += &format!(" (expecting \"{e}\")");
        }
        ParseError {
            msg,
            at_eof,
            line: self.line,
        }
    }

    fn error(&self, msg: &str, at_eof: bool) -> ParseError {
        ParseError {
            msg: format!("syntax error: {msg}"),
            at_eof,
            line: self.line,
        }
    }

    /// The next top-level command line (an and-or list sequence up to a newline), or
    /// `None` at the end of the script.
    pub(super) fn next_command(&mut self) -> Result<Option<List>, ParseError> {
        self.skip_newlines();
        if self.at_end() {
            return Ok(None);
        }
        let mut list = List::default();
        loop {
            let and_or = self.parse_and_or()?;
            match self.peek_op() {
                Some(";") => {
                    self.eat_op(";");
                    list.items.push(ListItem {
                        and_or,
                        background: false,
                    });
                }
                Some("&") => {
                    self.eat_op("&");
                    list.items.push(ListItem {
                        and_or,
                        background: true,
                    });
                }
                Some("\n") => {
                    self.bump();
                    list.items.push(ListItem {
                        and_or,
                        background: false,
                    });
                    return Ok(Some(list));
                }
                None if self.at_end() => {
                    list.items.push(ListItem {
                        and_or,
                        background: false,
                    });
                    return Ok(Some(list));
                }
                _ => return Err(self.unexpected(None)),
            }
            self.skip_blanks();
            if self.at_end() {
                return Ok(Some(list));
            }
            if self.peek() == Some('\n') {
                self.bump();
                return Ok(Some(list));
            }
        }
    }

    /// A compound command's body: commands up to one of `terms` (or `)`/`;;`).
    fn parse_list(&mut self, terms: &[&str], allow_empty: bool) -> Result<List, ParseError> {
        let mut list = List::default();
        loop {
            self.skip_newlines();
            if self.at_end() {
                break;
            }
            if matches!(self.peek_op(), Some(")") | Some(";;")) {
                break;
            }
            if let Some(kw) = self.peek_keyword()
                && terms.contains(&kw)
            {
                break;
            }
            let and_or = self.parse_and_or()?;
            let background = match self.peek_op() {
                Some(";") => {
                    self.eat_op(";");
                    false
                }
                Some("&") => {
                    self.eat_op("&");
                    true
                }
                Some("\n") => {
                    self.bump();
                    false
                }
                _ => {
                    list.items.push(ListItem {
                        and_or,
                        background: false,
                    });
                    break;
                }
            };
            list.items.push(ListItem { and_or, background });
        }
        if list.items.is_empty() && !allow_empty {
            return Err(self.unexpected(None));
        }
        Ok(list)
    }

    fn parse_and_or(&mut self) -> Result<Arc<AndOr>, ParseError> {
        let first = self.parse_pipeline()?;
        let mut rest = Vec::new();
        loop {
            let conn = match self.peek_op() {
                Some("&&") => Connector::And,
                Some("||") => Connector::Or,
                _ => break,
            };
            self.eat_op(if conn == Connector::And { "&&" } else { "||" });
            self.skip_newlines();
            rest.push((conn, self.parse_pipeline()?));
        }
        Ok(Arc::new(AndOr { first, rest }))
    }

    fn parse_pipeline(&mut self) -> Result<Pipeline, ParseError> {
        self.skip_blanks();
        let bang = if self.peek_keyword() == Some("!") {
            self.consume_word();
            true
        } else {
            false
        };
        let mut commands = vec![Arc::new(self.parse_command()?)];
        while self.peek_op() == Some("|") {
            self.eat_op("|");
            self.skip_newlines();
            commands.push(Arc::new(self.parse_command()?));
        }
        Ok(Pipeline { bang, commands })
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), ParseError> {
        self.skip_newlines();
        if self.peek_keyword() == Some(kw) {
            self.consume_word();
            Ok(())
        } else {
            Err(self.unexpected(Some(kw)))
        }
    }

    fn parse_command(&mut self) -> Result<Command, ParseError> {
        self.deeper(Parser::parse_command_here)
    }

    fn parse_command_here(&mut self) -> Result<Command, ParseError> {
        self.skip_blanks();
        if let Some(kw) = self.peek_keyword() {
            let compound = match kw {
                "if" => self.parse_if()?,
                "while" | "until" => {
                    self.consume_word();
                    let cond = self.parse_list(&["do"], false)?;
                    self.expect_keyword("do")?;
                    let body = self.parse_list(&["done"], false)?;
                    self.expect_keyword("done")?;
                    Compound::Loop {
                        until: kw == "until",
                        cond,
                        body,
                    }
                }
                "for" => self.parse_for()?,
                "case" => self.parse_case()?,
                "{" => {
                    self.consume_word();
                    let body = self.parse_list(&["}"], false)?;
                    self.expect_keyword("}")?;
                    Compound::Brace(body)
                }
                _ => return Err(self.unexpected(None)),
            };
            let redirs = self.parse_trailing_redirs()?;
            return Ok(Command::Compound(compound, redirs));
        }
        if self.peek_op() == Some("(") {
            self.eat_op("(");
            let body = self.parse_list(&[], false)?;
            self.skip_newlines();
            if self.peek_op() != Some(")") {
                return Err(self.unexpected(Some(")")));
            }
            self.eat_op(")");
            let redirs = self.parse_trailing_redirs()?;
            return Ok(Command::Compound(
                Compound::Subshell(Arc::new(body)),
                redirs,
            ));
        }
        self.parse_simple()
    }

    fn parse_trailing_redirs(&mut self) -> Result<Vec<Redir>, ParseError> {
        let mut redirs = Vec::new();
        loop {
            self.skip_blanks();
            match self.try_parse_redir()? {
                Some(r) => redirs.push(r),
                None => return Ok(redirs),
            }
        }
    }

    fn parse_simple(&mut self) -> Result<Command, ParseError> {
        let mut cmd = SimpleCommand {
            line: self.line,
            ..Default::default()
        };
        loop {
            self.skip_blanks();
            if let Some(r) = self.try_parse_redir()? {
                cmd.redirs.push(r);
                continue;
            }
            if self.at_end() || self.peek_op().is_some() {
                break;
            }
            let Some(word) = self.read_word()? else {
                break;
            };
            let word = if cmd.words.is_empty() {
                let word = match split_assignment(word) {
                    Ok(assign) => {
                        cmd.assigns.push(assign);
                        continue;
                    }
                    Err(word) => word,
                };
                if cmd.assigns.is_empty()
                    && cmd.redirs.is_empty()
                    && let Some(name) = word
                        .as_plain_lit()
                        .filter(|n| is_name(n) || is_func_name(n))
                {
                    let (pos, line) = (self.pos, self.line);
                    self.skip_blanks();
                    if self.peek() == Some('(') {
                        self.pos += 1;
                        self.skip_blanks();
                        if self.peek() == Some(')') {
                            self.pos += 1;
                            self.skip_newlines();
                            let body = self.parse_command()?;
                            if !matches!(body, Command::Compound(..)) {
                                return Err(self.unexpected(None));
                            }
                            return Ok(Command::FuncDef(name.to_owned(), Arc::new(body)));
                        }
                        return Err(self.unexpected(None));
                    }
                    self.pos = pos;
                    self.line = line;
                }
                word
            } else {
                word
            };
            cmd.words.push(word);
        }
        if cmd.words.is_empty() && cmd.assigns.is_empty() && cmd.redirs.is_empty() {
            return Err(self.unexpected(None));
        }
        Ok(Command::Simple(cmd))
    }

    fn try_parse_redir(&mut self) -> Result<Option<Redir>, ParseError> {
        let (pos, line) = (self.pos, self.line);
        let fd = match self.io_number() {
            Some((n, len)) => {
                self.pos += len;
                Some(n)
            }
            None => None,
        };
        let op = match self.peek_op() {
            Some("<") => RedirOp::In,
            Some(">") => RedirOp::Out,
            Some(">>") => RedirOp::Append,
            Some(">|") => RedirOp::Clobber,
            Some("<>") => RedirOp::ReadWrite,
            Some("<&") => RedirOp::DupIn,
            Some(">&") => RedirOp::DupOut,
            Some(op @ ("<<" | "<<-")) => {
                self.eat_op(op);
                self.skip_blanks();
                let Some(delim) = self.read_word()? else {
                    return Err(self.unexpected(None));
                };
                let target = self.read_heredoc(&delim, op == "<<-")?;
                return Ok(Some(Redir {
                    fd,
                    op: RedirOp::HereDoc,
                    target,
                }));
            }
            _ => {
                self.pos = pos;
                self.line = line;
                return Ok(None);
            }
        };
        let text = match op {
            RedirOp::In => "<",
            RedirOp::Out => ">",
            RedirOp::Append => ">>",
            RedirOp::Clobber => ">|",
            RedirOp::ReadWrite => "<>",
            RedirOp::DupIn => "<&",
            RedirOp::DupOut => ">&",
            RedirOp::HereDoc => "<<",
        };
        self.eat_op(text);
        self.skip_blanks();
        if self.at_end() || self.peek_op().is_some() {
            return Err(self.unexpected(None));
        }
        match self.read_word()? {
            Some(target) => Ok(Some(Redir { fd, op, target })),
            None => Err(self.unexpected(None)),
        }
    }

    /// Reads a here-document body from the line after the current one, and removes it
    /// from the input.
    fn read_heredoc(&mut self, delim: &Word, strip_tabs: bool) -> Result<Word, ParseError> {
        let quoted = delim.has_quotes();
        let delim = delim.literal_text();
        let mut nl = self.pos;
        while nl < self.s.len() && self.s[nl] != '\n' {
            nl += 1;
        }
        let body_start = (nl + 1).min(self.s.len());
        let mut i = body_start;
        let mut body = String::new();
        let mut end = self.s.len();
        while i < self.s.len() {
            let mut j = i;
            while j < self.s.len() && self.s[j] != '\n' {
                j += 1;
            }
            let mut line: String = self.s[i..j].iter().collect();
            if strip_tabs {
                line = line.trim_start_matches('\t').to_owned();
            }
            let next = (j + 1).min(self.s.len());
            if line == delim {
                end = next;
                break;
            }
            body.push_str(&line);
            body.push('\n');
            i = next;
        }
        if body_start < self.s.len() {
            self.s.drain(body_start..end.max(body_start));
        }
        if quoted {
            return Ok(Word {
                parts: vec![Part::Quoted(body)],
            });
        }
        let mut sub = self.nested(&body);
        let parts = sub.parse_dq(None)?;
        Ok(Word {
            parts: vec![Part::Double(parts)],
        })
    }

    fn parse_if(&mut self) -> Result<Compound, ParseError> {
        self.consume_word();
        let mut branches = Vec::new();
        let cond = self.parse_list(&["then"], false)?;
        self.expect_keyword("then")?;
        let body = self.parse_list(&["elif", "else", "fi"], false)?;
        branches.push((cond, body));
        let mut otherwise = None;
        loop {
            self.skip_newlines();
            match self.peek_keyword() {
                Some("elif") => {
                    self.consume_word();
                    let cond = self.parse_list(&["then"], false)?;
                    self.expect_keyword("then")?;
                    let body = self.parse_list(&["elif", "else", "fi"], false)?;
                    branches.push((cond, body));
                }
                Some("else") => {
                    self.consume_word();
                    otherwise = Some(self.parse_list(&["fi"], false)?);
                    self.expect_keyword("fi")?;
                    break;
                }
                Some("fi") => {
                    self.consume_word();
                    break;
                }
                _ => return Err(self.unexpected(Some("fi"))),
            }
        }
        Ok(Compound::If {
            branches,
            otherwise,
        })
    }

    fn parse_for(&mut self) -> Result<Compound, ParseError> {
        self.consume_word();
        self.skip_blanks();
        let var = match self.read_word()? {
            Some(w) if w.as_plain_lit().is_some_and(is_name) => {
                w.as_plain_lit().unwrap_or_default().to_owned()
            }
            Some(_) => return Err(self.error("bad for loop variable", false)),
            None => return Err(self.unexpected(None)),
        };
        self.skip_newlines();
        let mut items = None;
        if self.peek_keyword() == Some("in") {
            self.consume_word();
            let mut words = Vec::new();
            loop {
                self.skip_blanks();
                if self.at_end() || self.peek_op().is_some() {
                    break;
                }
                match self.read_word()? {
                    Some(w) => words.push(w),
                    None => break,
                }
            }
            match self.peek_op() {
                Some(";") => self.eat_op(";"),
                Some("\n") => {
                    self.bump();
                }
                _ if self.at_end() => {}
                _ => return Err(self.unexpected(None)),
            }
            items = Some(words);
        } else if self.peek_op() == Some(";") {
            self.eat_op(";");
        }
        self.expect_keyword("do")?;
        let body = self.parse_list(&["done"], false)?;
        self.expect_keyword("done")?;
        Ok(Compound::For { var, items, body })
    }

    fn parse_case(&mut self) -> Result<Compound, ParseError> {
        self.consume_word();
        self.skip_blanks();
        let Some(word) = self.read_word()? else {
            return Err(self.unexpected(None));
        };
        self.expect_keyword("in")?;
        let mut arms = Vec::new();
        loop {
            self.skip_newlines();
            if self.peek_keyword() == Some("esac") {
                self.consume_word();
                break;
            }
            if self.at_end() {
                return Err(self.unexpected(Some("esac")));
            }
            if self.peek_op() == Some("(") {
                self.eat_op("(");
            }
            let mut patterns = Vec::new();
            loop {
                self.skip_blanks();
                match self.read_word()? {
                    Some(w) => patterns.push(w),
                    None => return Err(self.unexpected(None)),
                }
                match self.peek_op() {
                    Some("|") => self.eat_op("|"),
                    Some(")") => {
                        self.eat_op(")");
                        break;
                    }
                    _ => return Err(self.unexpected(Some(")"))),
                }
            }
            let body = self.parse_list(&["esac"], true)?;
            arms.push(CaseArm { patterns, body });
            self.skip_newlines();
            if self.peek_op() == Some(";;") {
                self.eat_op(";;");
            } else if self.peek_keyword() != Some("esac") {
                return Err(self.unexpected(Some("esac")));
            }
        }
        Ok(Compound::Case { word, arms })
    }

    /// Reads a word at the current position (no leading blanks), or `None` if a
    /// metacharacter or the end is there.
    fn read_word(&mut self) -> Result<Option<Word>, ParseError> {
        let start = self.pos;
        let mut parts = Vec::new();
        let mut lit = String::new();
        if self.peek() == Some('~') {
            let mut n = 1;
            let mut name = String::new();
            while let Some(c) = self.peek_at(n) {
                if c == '/' || is_meta(c) {
                    break;
                }
                if !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
                    name.clear();
                    n = 0;
                    break;
                }
                name.push(c);
                n += 1;
            }
            if n > 0 {
                self.pos += n;
                parts.push(Part::Tilde(name));
            }
        }
        while let Some(c) = self.peek() {
            if is_meta(c) {
                break;
            }
            match c {
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => {
                            self.bump();
                        }
                        Some(ch) => {
                            flush(&mut lit, &mut parts);
                            parts.push(Part::Quoted(ch.to_string()));
                            self.pos += 1;
                        }
                        None => lit.push('\\'),
                    }
                }
                '\'' => {
                    flush(&mut lit, &mut parts);
                    self.pos += 1;
                    let mut s = String::new();
                    loop {
                        match self.bump() {
                            Some('\'') => break,
                            Some(ch) => s.push(ch),
                            None => return Err(self.error("unterminated quoted string", true)),
                        }
                    }
                    parts.push(Part::Quoted(s));
                }
                '"' => {
                    flush(&mut lit, &mut parts);
                    self.pos += 1;
                    let inner = self.parse_dq(Some('"'))?;
                    parts.push(Part::Double(inner));
                }
                '$' => {
                    flush(&mut lit, &mut parts);
                    let p = self.parse_dollar()?;
                    parts.push(p);
                }
                '`' => {
                    flush(&mut lit, &mut parts);
                    let p = self.parse_backquote()?;
                    parts.push(p);
                }
                _ => {
                    lit.push(c);
                    self.pos += 1;
                }
            }
        }
        flush(&mut lit, &mut parts);
        if self.pos == start {
            return Ok(None);
        }
        Ok(Some(Word { parts }))
    }

    /// The inside of double quotes up to `term` (consumed), or a here-document body
    /// up to the end (`term` = `None`).
    fn parse_dq(&mut self, term: Option<char>) -> Result<Vec<Part>, ParseError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        loop {
            match self.peek() {
                None => {
                    if term.is_some() {
                        return Err(self.error("unterminated quoted string", true));
                    }
                    break;
                }
                Some(c) if Some(c) == term => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(ch @ ('$' | '`' | '\\')) => {
                            lit.push(ch);
                            self.pos += 1;
                        }
                        Some('"') if term.is_some() => {
                            lit.push('"');
                            self.pos += 1;
                        }
                        Some('\n') => {
                            self.bump();
                        }
                        _ => lit.push('\\'),
                    }
                }
                Some('$') => {
                    if !lit.is_empty() {
                        parts.push(Part::Quoted(std::mem::take(&mut lit)));
                    }
                    match self.parse_dollar()? {
                        Part::Lit(s) => lit.push_str(&s),
                        p => parts.push(p),
                    }
                }
                Some('`') => {
                    if !lit.is_empty() {
                        parts.push(Part::Quoted(std::mem::take(&mut lit)));
                    }
                    parts.push(self.parse_backquote()?);
                }
                Some(_) => {
                    if let Some(c) = self.bump() {
                        lit.push(c);
                    }
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Quoted(lit));
        }
        Ok(parts)
    }

    fn parse_dollar(&mut self) -> Result<Part, ParseError> {
        if self.peek_at(1) == Some('(') && self.peek_at(2) != Some('(') {
            // `$(...)`: one level, counted by the commands inside.
            return self.parse_dollar_here();
        }
        self.deeper(Parser::parse_dollar_here)
    }

    fn parse_dollar_here(&mut self) -> Result<Part, ParseError> {
        self.pos += 1; // '$'
        match self.peek() {
            Some('{') => self.parse_brace_param(),
            Some('(') if self.peek_at(1) == Some('(') => self.parse_arith(),
            Some('(') => {
                self.pos += 1;
                let list = self.parse_list(&[], true)?;
                self.skip_newlines();
                if self.peek_op() != Some(")") {
                    return Err(self.unexpected(Some(")")));
                }
                self.eat_op(")");
                Ok(Part::Command(Arc::new(list)))
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let mut name = String::new();
                while let Some(c) = self.peek() {
                    if c == '_' || c.is_ascii_alphanumeric() {
                        name.push(c);
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                Ok(Part::Param(Param {
                    name,
                    op: ParamOp::Plain,
                }))
            }
            Some(c)
                if c.is_ascii_digit() || matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!') =>
            {
                self.pos += 1;
                Ok(Part::Param(Param {
                    name: c.to_string(),
                    op: ParamOp::Plain,
                }))
            }
            _ => Ok(Part::Lit("$".into())),
        }
    }

    fn parse_arith(&mut self) -> Result<Part, ParseError> {
        self.pos += 2; // "(("
        let mut depth = 0;
        let mut text = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error("unexpected end of file (expecting \"))\")", true)),
                Some('(') => {
                    depth += 1;
                    text.push('(');
                }
                Some(')') => {
                    if depth == 0 {
                        if self.peek() == Some(')') {
                            self.pos += 1;
                            break;
                        }
                        return Err(self.error("unexpected \")\"", false));
                    }
                    depth -= 1;
                    text.push(')');
                }
                Some(c) => text.push(c),
            }
        }
        let mut sub = self.nested(&text);
        let parts = sub.parse_dq(None)?;
        Ok(Part::Arith(Word {
            parts: vec![Part::Double(parts)],
        }))
    }

    fn parse_brace_param(&mut self) -> Result<Part, ParseError> {
        self.pos += 1; // '{'
        if self.peek() == Some('#') && !matches!(self.peek_at(1), Some('}') | None) {
            self.pos += 1;
            let name = self.read_param_name();
            if name.is_empty() || self.peek() != Some('}') {
                return Err(self.error("bad substitution", false));
            }
            self.pos += 1;
            return Ok(Part::Param(Param {
                name,
                op: ParamOp::Length,
            }));
        }
        let name = self.read_param_name();
        if name.is_empty() {
            return Err(self.error("bad substitution", self.at_end()));
        }
        let c = self.bump();
        let op_char = match c {
            Some('}') => {
                return Ok(Part::Param(Param {
                    name,
                    op: ParamOp::Plain,
                }));
            }
            Some(':') => match self.bump() {
                Some(o @ ('-' | '=' | '?' | '+')) => (true, o),
                _ => return Err(self.error("bad substitution", false)),
            },
            Some(o @ ('-' | '=' | '?' | '+' | '#' | '%')) => (false, o),
            None => return Err(self.error("missing '}'", true)),
            _ => return Err(self.error("bad substitution", false)),
        };
        let longest = matches!(op_char.1, '#' | '%') && {
            if self.peek() == Some(op_char.1) {
                self.pos += 1;
                true
            } else {
                false
            }
        };
        let word = self.parse_param_word()?;
        let (colon, ch) = op_char;
        let op = match ch {
            '-' => ParamOp::Default(colon, word),
            '=' => ParamOp::Assign(colon, word),
            '?' => ParamOp::Error(colon, word),
            '+' => ParamOp::Alt(colon, word),
            '#' => ParamOp::TrimPrefix(longest, word),
            _ => ParamOp::TrimSuffix(longest, word),
        };
        Ok(Part::Param(Param { name, op }))
    }

    fn read_param_name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                while let Some(c) = self.peek() {
                    if c == '_' || c.is_ascii_alphanumeric() {
                        name.push(c);
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
            }
            Some(c) if c.is_ascii_digit() => {
                while let Some(c) = self.peek() {
                    if c.is_ascii_digit() {
                        name.push(c);
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
            }
            Some(c @ ('@' | '*' | '#' | '?' | '-' | '$' | '!')) => {
                name.push(c);
                self.pos += 1;
            }
            _ => {}
        }
        name
    }

    /// The word of `${x:-word}`: up to the matching unquoted `}` (consumed).
    fn parse_param_word(&mut self) -> Result<Word, ParseError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("missing '}'", true)),
                Some('}') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    self.pos += 1;
                    if let Some(ch) = self.bump() {
                        flush(&mut lit, &mut parts);
                        parts.push(Part::Quoted(ch.to_string()));
                    }
                }
                Some('\'') => {
                    flush(&mut lit, &mut parts);
                    self.pos += 1;
                    let mut s = String::new();
                    loop {
                        match self.bump() {
                            Some('\'') => break,
                            Some(ch) => s.push(ch),
                            None => return Err(self.error("unterminated quoted string", true)),
                        }
                    }
                    parts.push(Part::Quoted(s));
                }
                Some('"') => {
                    flush(&mut lit, &mut parts);
                    self.pos += 1;
                    let inner = self.parse_dq(Some('"'))?;
                    parts.push(Part::Double(inner));
                }
                Some('$') => {
                    flush(&mut lit, &mut parts);
                    let p = self.parse_dollar()?;
                    parts.push(p);
                }
                Some('`') => {
                    flush(&mut lit, &mut parts);
                    let p = self.parse_backquote()?;
                    parts.push(p);
                }
                Some(_) => {
                    if let Some(c) = self.bump() {
                        lit.push(c);
                    }
                }
            }
        }
        flush(&mut lit, &mut parts);
        Ok(Word { parts })
    }

    fn parse_backquote(&mut self) -> Result<Part, ParseError> {
        self.pos += 1; // '`'
        let mut text = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error("unterminated quoted string", true)),
                Some('`') => break,
                Some('\\') => match self.bump() {
                    Some(ch @ ('$' | '`' | '\\')) => text.push(ch),
                    Some(ch) => {
                        text.push('\\');
                        text.push(ch);
                    }
                    None => text.push('\\'),
                },
                Some(c) => text.push(c),
            }
        }
        let list = self.nested(&text).parse_all()?;
        Ok(Part::Command(Arc::new(list)))
    }
}

fn is_func_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !KEYWORDS.contains(&s)
}

fn flush(lit: &mut String, parts: &mut Vec<Part>) {
    if !lit.is_empty() {
        parts.push(Part::Lit(std::mem::take(lit)));
    }
}

/// `NAME=value` at the start of a simple command, or the word back if it is not
/// one. The value's parts are moved, not cloned (a deep clone would recurse).
fn split_assignment(word: Word) -> Result<(String, Word), Word> {
    let Some(Part::Lit(first)) = word.parts.first() else {
        return Err(word);
    };
    let Some(eq) = first.find('=').filter(|&eq| is_name(&first[..eq])) else {
        return Err(word);
    };
    let name = first[..eq].to_owned();
    let rest = first[eq + 1..].to_owned();
    let mut parts = word.parts;
    if rest.is_empty() {
        parts.remove(0);
    } else {
        parts[0] = Part::Lit(rest);
    }
    Ok((name, Word { parts }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        Parser::parse_program(src).unwrap_err().msg
    }

    fn simple_words(src: &str) -> Vec<Word> {
        let list = Parser::parse_program(src).unwrap();
        match &*list.items[0].and_or.first.commands[0] {
            Command::Simple(s) => s.words.clone(),
            other => panic!("not simple: {other:?}"),
        }
    }

    #[test]
    fn parser_reports_busybox_syntax_errors() {
        assert_eq!(err("fi"), "syntax error: unexpected \"fi\"");
        assert_eq!(err("echo )"), "syntax error: unexpected \")\"");
        assert_eq!(
            err("if true; then echo"),
            "syntax error: unexpected end of file (expecting \"fi\")"
        );
        assert_eq!(
            err("if true"),
            "syntax error: unexpected end of file (expecting \"then\")"
        );
        assert_eq!(
            err("while true; do echo; "),
            "syntax error: unexpected end of file (expecting \"done\")"
        );
        assert_eq!(err("echo 'x"), "syntax error: unterminated quoted string");
        assert_eq!(err("echo hi |"), "syntax error: unexpected end of file");
        assert_eq!(err("&& x"), "syntax error: unexpected \"&&\"");
        assert_eq!(err("echo a; ;"), "syntax error: unexpected \";\"");
        assert_eq!(err("{ }"), "syntax error: unexpected \"}\"");
        assert_eq!(err("echo >"), "syntax error: unexpected end of file");
        assert_eq!(err("echo ${x"), "syntax error: missing '}'");
    }

    #[test]
    fn parser_keeps_quoting_structure_of_words() {
        let words = simple_words("echo 'a b' \"c $x\" d\\ e");
        assert_eq!(words[1].parts, vec![Part::Quoted("a b".into())]);
        assert_eq!(
            words[2].parts,
            vec![Part::Double(vec![
                Part::Quoted("c ".into()),
                Part::Param(Param {
                    name: "x".into(),
                    op: ParamOp::Plain
                })
            ])]
        );
        assert_eq!(
            words[3].parts,
            vec![
                Part::Lit("d".into()),
                Part::Quoted(" ".into()),
                Part::Lit("e".into())
            ]
        );
    }

    #[test]
    fn parser_reads_io_numbers_assignments_and_heredocs() {
        let list =
            Parser::parse_program("A=1 cmd 2>&1 >out <<EOF\nhello $A\nEOF\necho next").unwrap();
        assert_eq!(list.items.len(), 2);
        let Command::Simple(cmd) = &*list.items[0].and_or.first.commands[0] else {
            panic!("not simple");
        };
        assert_eq!(cmd.assigns[0].0, "A");
        assert_eq!(cmd.redirs.len(), 3);
        assert_eq!(
            (cmd.redirs[0].fd, cmd.redirs[0].op),
            (Some(2), RedirOp::DupOut)
        );
        assert_eq!(cmd.redirs[1].op, RedirOp::Out);
        assert_eq!(cmd.redirs[2].op, RedirOp::HereDoc);
    }

    #[test]
    fn keywords_are_only_reserved_in_command_position() {
        let words = simple_words("echo if then fi }");
        assert_eq!(words.len(), 5);
        assert!(Parser::parse_program("if true; then echo fi; fi").is_ok());
        assert!(Parser::parse_program("case x in a|b) echo 1;; *) echo 2;; esac").is_ok());
        assert!(Parser::parse_program("f() { echo hi; }; f").is_ok());
        assert!(Parser::parse_program("for i in 1 2; do echo $i; done").is_ok());
        assert!(Parser::parse_program("echo $(echo a; echo b) `echo c` $((1+2))").is_ok());
    }
}
