//! `$((...))`: shell arithmetic on 64-bit signed integers.
//!
//! A recursive-descent evaluator: nesting (parentheses, prefix operators, `**`,
//! assignments, `?:`) is limited to [`MAX_ARITH_DEPTH`] levels.

use crate::process::stack::{self, MAX_ARITH_DEPTH};

/// Variable access for the evaluator.
pub(crate) trait Vars {
    fn get(&self, name: &str) -> Option<String>;
    fn set(&mut self, name: &str, value: String);
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(i64),
    Name(String),
    Op(&'static str),
}

const OPS: &[&str] = &[
    "<<=", ">>=", "**", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+=", "-=", "*=", "/=",
    "%=", "&=", "|=", "^=", "++", "--", "+", "-", "*", "/", "%", "<", ">", "&", "|", "^", "!", "~",
    "?", ":", "=", "(", ")",
];

fn parse_number(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8)
    } else {
        t.parse::<i64>()
    }
    .map_err(|_| "arithmetic syntax error".to_owned())?;
    Ok(if neg { v.wrapping_neg() } else { v })
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Tok::Num(parse_number(&s)?));
            continue;
        }
        if c == '_' || c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i] == '_' || chars[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            out.push(Tok::Name(chars[start..i].iter().collect()));
            continue;
        }
        let op = OPS
            .iter()
            .find(|op| {
                op.chars()
                    .enumerate()
                    .all(|(k, oc)| chars.get(i + k) == Some(&oc))
            })
            .ok_or_else(|| "arithmetic syntax error".to_owned())?;
        i += op.len();
        out.push(Tok::Op(op));
    }
    Ok(out)
}

struct Eval<'a, V: Vars> {
    toks: Vec<Tok>,
    pos: usize,
    vars: &'a mut V,
    /// When false, sub-expressions are parsed but have no effect (short-circuit).
    live: bool,
    /// How deeply nested the sub-expression being evaluated is.
    depth: u32,
}

/// Evaluates an arithmetic expression.
pub(crate) fn eval(text: &str, vars: &mut impl Vars) -> Result<i64, String> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Ok(0);
    }
    let mut e = Eval {
        toks,
        pos: 0,
        vars,
        live: true,
        depth: 0,
    };
    let v = e.assign()?;
    if e.pos != e.toks.len() {
        return Err("arithmetic syntax error".into());
    }
    Ok(v)
}

impl<V: Vars> Eval<'_, V> {
    /// Evaluates a nested sub-expression with `f`, one level deeper.
    fn deeper(&mut self, f: impl FnOnce(&mut Self) -> Result<i64, String>) -> Result<i64, String> {
        if self.depth >= MAX_ARITH_DEPTH {
            return Err(stack::too_deep_message(MAX_ARITH_DEPTH));
        }
        self.depth += 1;
        let r = stack::grow(|| f(self));
        self.depth -= 1;
        r
    }

    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(op)) => Some(op),
            _ => None,
        }
    }

    fn var(&self, name: &str) -> Result<i64, String> {
        match self.vars.get(name) {
            None => Ok(0),
            Some(v) if v.trim().is_empty() => Ok(0),
            Some(v) => parse_number(&v),
        }
    }

    fn assign(&mut self) -> Result<i64, String> {
        if let (Some(Tok::Name(name)), Some(Tok::Op(op))) = (
            self.toks.get(self.pos).cloned(),
            self.toks.get(self.pos + 1).cloned(),
        ) && op.ends_with('=')
            && !matches!(op, "==" | "!=" | "<=" | ">=")
        {
            self.pos += 2;
            let rhs = self.deeper(Self::assign)?;
            let cur = if op == "=" { 0 } else { self.var(&name)? };
            let v = match op {
                "=" => rhs,
                _ => binary(&op[..op.len() - 1], cur, rhs)?,
            };
            if self.live {
                self.vars.set(&name, v.to_string());
            }
            return Ok(v);
        }
        self.ternary()
    }

    fn ternary(&mut self) -> Result<i64, String> {
        let cond = self.binary_level(0)?;
        if self.peek_op() != Some("?") {
            return Ok(cond);
        }
        self.pos += 1;
        let live = self.live;
        self.live = live && cond != 0;
        let a = self.deeper(Self::assign)?;
        if self.peek_op() != Some(":") {
            return Err("arithmetic syntax error".into());
        }
        self.pos += 1;
        self.live = live && cond == 0;
        let b = self.deeper(Self::assign)?;
        self.live = live;
        Ok(if cond != 0 { a } else { b })
    }

    fn binary_level(&mut self, level: usize) -> Result<i64, String> {
        const LEVELS: &[&[&str]] = &[
            &["||"],
            &["&&"],
            &["|"],
            &["^"],
            &["&"],
            &["==", "!="],
            &["<", ">", "<=", ">="],
            &["<<", ">>"],
            &["+", "-"],
            &["*", "/", "%"],
        ];
        if level == LEVELS.len() {
            return self.power();
        }
        let mut lhs = self.binary_level(level + 1)?;
        while let Some(op) = self.peek_op().filter(|op| LEVELS[level].contains(op)) {
            self.pos += 1;
            let live = self.live;
            if op == "&&" && lhs == 0 || op == "||" && lhs != 0 {
                self.live = false;
            }
            let rhs = self.binary_level(level + 1)?;
            self.live = live;
            lhs = if self.live || !matches!(op, "/" | "%") {
                binary(op, lhs, rhs)?
            } else {
                0
            };
        }
        Ok(lhs)
    }

    fn power(&mut self) -> Result<i64, String> {
        let base = self.unary()?;
        if self.peek_op() == Some("**") {
            self.pos += 1;
            let exp = self.deeper(Self::power)?;
            return binary("**", base, exp);
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<i64, String> {
        match self.peek_op() {
            Some("-") => {
                self.pos += 1;
                Ok(self.deeper(Self::unary)?.wrapping_neg())
            }
            Some("+") => {
                self.pos += 1;
                self.deeper(Self::unary)
            }
            Some("!") => {
                self.pos += 1;
                Ok(i64::from(self.deeper(Self::unary)? == 0))
            }
            Some("~") => {
                self.pos += 1;
                Ok(!self.deeper(Self::unary)?)
            }
            Some(op @ ("++" | "--")) => {
                self.pos += 1;
                let Some(Tok::Name(name)) = self.toks.get(self.pos).cloned() else {
                    return Err("arithmetic syntax error".into());
                };
                self.pos += 1;
                let v = self.var(&name)? + if op == "++" { 1 } else { -1 };
                if self.live {
                    self.vars.set(&name, v.to_string());
                }
                Ok(v)
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<i64, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::Name(name)) => {
                self.pos += 1;
                let v = self.var(&name)?;
                if let Some(op @ ("++" | "--")) = self.peek_op() {
                    self.pos += 1;
                    if self.live {
                        let nv = v + if op == "++" { 1 } else { -1 };
                        self.vars.set(&name, nv.to_string());
                    }
                }
                Ok(v)
            }
            Some(Tok::Op("(")) => {
                self.pos += 1;
                let v = self.deeper(Self::assign)?;
                if self.peek_op() != Some(")") {
                    return Err("arithmetic syntax error".into());
                }
                self.pos += 1;
                Ok(v)
            }
            _ => Err("arithmetic syntax error".into()),
        }
    }
}

fn binary(op: &str, a: i64, b: i64) -> Result<i64, String> {
    Ok(match op {
        "+" => a.wrapping_add(b),
        "-" => a.wrapping_sub(b),
        "*" => a.wrapping_mul(b),
        "/" | "%" if b == 0 => return Err("divide by zero".into()),
        "/" => a.wrapping_div(b),
        "%" => a.wrapping_rem(b),
        "**" => {
            if b < 0 {
                return Err("exponent less than 0".into());
            }
            a.wrapping_pow(u32::try_from(b).unwrap_or(u32::MAX))
        }
        "<<" => a.wrapping_shl(b as u32),
        ">>" => a.wrapping_shr(b as u32),
        "<" => i64::from(a < b),
        ">" => i64::from(a > b),
        "<=" => i64::from(a <= b),
        ">=" => i64::from(a >= b),
        "==" => i64::from(a == b),
        "!=" => i64::from(a != b),
        "&" => a & b,
        "|" => a | b,
        "^" => a ^ b,
        "&&" => i64::from(a != 0 && b != 0),
        "||" => i64::from(a != 0 || b != 0),
        _ => return Err("arithmetic syntax error".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    impl Vars for HashMap<String, String> {
        fn get(&self, name: &str) -> Option<String> {
            HashMap::get(self, name).cloned()
        }
        fn set(&mut self, name: &str, value: String) {
            self.insert(name.to_owned(), value);
        }
    }

    #[test]
    fn arithmetic_follows_c_precedence_and_assigns_variables() {
        let mut vars: HashMap<String, String> = HashMap::new();
        vars.insert("x".into(), "5".into());
        assert_eq!(eval("1 + 2 * 3", &mut vars), Ok(7));
        assert_eq!(eval("(1 + 2) * 3", &mut vars), Ok(9));
        assert_eq!(eval("x * 2 - 1", &mut vars), Ok(9));
        assert_eq!(eval("y = x + 1", &mut vars), Ok(6));
        assert_eq!(vars.get("y").map(String::as_str), Some("6"));
        assert_eq!(eval("x > 3 && x < 10", &mut vars), Ok(1));
        assert_eq!(eval("7 % 3 + 2 ** 3", &mut vars), Ok(9));
        assert_eq!(eval("x++", &mut vars), Ok(5));
        assert_eq!(vars.get("x").map(String::as_str), Some("6"));
        assert_eq!(eval("0x10 + 010", &mut vars), Ok(24));
        assert_eq!(eval("1 ? 2 : 3", &mut vars), Ok(2));
        assert_eq!(eval("1 / 0", &mut vars), Err("divide by zero".into()));
        assert_eq!(eval("0 && 1 / 0", &mut vars), Ok(0));
    }
}
