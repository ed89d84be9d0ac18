//! `test`, `[` and `[[`.

use super::Env;
use crate::process::ExitStatus;
use crate::process::program::{ProgramContext, Programs};
use crate::process::vfs::FileKind;

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("test", test);
    p.insert_builtin("[", test);
    p.insert_builtin("[[", test);
}

/// An error that ends `test` with status 2 and this message.
struct Syntax(String);

struct Eval<'a> {
    args: &'a [String],
    pos: usize,
    env: &'a Env,
}

const UNARY: &[&str] = &[
    "-e", "-f", "-d", "-z", "-n", "-x", "-r", "-w", "-s", "-L", "-h", "-b", "-c", "-p", "-S", "-t",
    "-k", "-u", "-g", "-O", "-G",
];
const BINARY: &[&str] = &[
    "=", "==", "!=", "<", ">", "-eq", "-ne", "-lt", "-gt", "-le", "-ge", "-nt", "-ot", "-ef",
];

fn number(s: &str) -> Result<i64, Syntax> {
    let t = s.trim_start();
    let t2 = t.trim_end();
    t2.parse::<i64>()
        .map_err(|_| Syntax(format!("{s}: bad number")))
}

impl Eval<'_> {
    fn peek(&self) -> Option<&str> {
        self.args.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Option<&str> {
        let a = self.args.get(self.pos).map(String::as_str);
        self.pos += 1;
        a
    }

    fn or(&mut self) -> Result<bool, Syntax> {
        let mut r = self.and()?;
        while self.peek() == Some("-o") {
            self.pos += 1;
            let rhs = self.and()?;
            r = r || rhs;
        }
        Ok(r)
    }

    fn and(&mut self) -> Result<bool, Syntax> {
        let mut r = self.not()?;
        while self.peek() == Some("-a") {
            self.pos += 1;
            let rhs = self.not()?;
            r = r && rhs;
        }
        Ok(r)
    }

    fn not(&mut self) -> Result<bool, Syntax> {
        if self.peek() == Some("!") && self.pos + 1 < self.args.len() {
            self.pos += 1;
            return Ok(!self.not()?);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<bool, Syntax> {
        let Some(a) = self.peek().map(str::to_owned) else {
            return Err(Syntax("argument expected".into()));
        };
        // A binary expression (its left operand may look like an operator).
        if let Some(op) = self.args.get(self.pos + 1)
            && BINARY.contains(&op.as_str())
            && self.pos + 2 < self.args.len()
        {
            let op = op.clone();
            let rhs = self.args[self.pos + 2].clone();
            self.pos += 3;
            return self.binary(&a, &op, &rhs);
        }
        if a == "(" {
            self.pos += 1;
            let r = self.or()?;
            if self.next() != Some(")") {
                return Err(Syntax("closing paren expected".into()));
            }
            return Ok(r);
        }
        if UNARY.contains(&a.as_str()) && self.pos + 1 < self.args.len() {
            self.pos += 1;
            let operand = self.next().unwrap_or_default().to_owned();
            return Ok(self.unary(&a, &operand));
        }
        self.pos += 1;
        Ok(!a.is_empty())
    }

    fn unary(&self, op: &str, s: &str) -> bool {
        let vfs = self.env.sys.vfs();
        let access = self.env.sys.access();
        let abs = self.env.abs(s);
        match op {
            "-z" => s.is_empty(),
            "-n" => !s.is_empty(),
            "-t" => false,
            "-L" | "-h" => vfs
                .stat(&abs, false, access)
                .is_ok_and(|st| st.kind == FileKind::Symlink),
            "-r" => vfs.access_ok(&abs, 4, access),
            "-w" => vfs.access_ok(&abs, 2, access),
            "-x" => vfs.access_ok(&abs, 1, access),
            _ => {
                let Ok(st) = vfs.stat(&abs, true, access) else {
                    return false;
                };
                match op {
                    "-e" => true,
                    "-f" => st.kind == FileKind::File,
                    "-d" => st.kind == FileKind::Dir,
                    "-s" => st.size > 0,
                    "-c" => st.kind == FileKind::CharDevice,
                    "-b" | "-p" | "-S" => false,
                    "-k" => st.mode & 0o1000 != 0,
                    "-u" => st.mode & 0o4000 != 0,
                    "-g" => st.mode & 0o2000 != 0,
                    "-O" => st.uid == self.env.sys.identity().uid,
                    "-G" => st.gid == self.env.sys.identity().gid,
                    _ => false,
                }
            }
        }
    }

    fn binary(&self, a: &str, op: &str, b: &str) -> Result<bool, Syntax> {
        Ok(match op {
            "=" | "==" => a == b,
            "!=" => a != b,
            "<" => a < b,
            ">" => a > b,
            "-eq" => number(a)? == number(b)?,
            "-ne" => number(a)? != number(b)?,
            "-lt" => number(a)? < number(b)?,
            "-gt" => number(a)? > number(b)?,
            "-le" => number(a)? <= number(b)?,
            "-ge" => number(a)? >= number(b)?,
            "-nt" | "-ot" | "-ef" => {
                let vfs = self.env.sys.vfs();
                let access = self.env.sys.access();
                let sa = vfs.stat(&self.env.abs(a), true, access);
                let sb = vfs.stat(&self.env.abs(b), true, access);
                match (op, sa, sb) {
                    ("-nt", Ok(x), Ok(y)) => x.mtime > y.mtime,
                    ("-nt", Ok(_), Err(_)) => true,
                    ("-ot", Ok(x), Ok(y)) => x.mtime < y.mtime,
                    ("-ot", Err(_), Ok(_)) => true,
                    ("-ef", Ok(_), Ok(_)) => {
                        vfs.canonicalize(&self.env.abs(a), access).ok()
                            == vfs.canonicalize(&self.env.abs(b), access).ok()
                    }
                    _ => false,
                }
            }
            _ => return Err(Syntax(format!("{op}: unknown operand"))),
        })
    }
}

/// Evaluates a test expression (the arguments without `[`/`]`).
fn evaluate(env: &Env, args: &[String]) -> Result<bool, Syntax> {
    let mut e = Eval { args, pos: 0, env };
    let r = match args.len() {
        0 => return Ok(false),
        1 => return Ok(!args[0].is_empty()),
        2 if args[0] == "!" => return Ok(args[1].is_empty()),
        2 if UNARY.contains(&args[0].as_str()) => return Ok(e.unary(&args[0], &args[1])),
        2 => return Err(Syntax(format!("{}: unknown operand", args[0]))),
        3 if BINARY.contains(&args[1].as_str()) => return e.binary(&args[0], &args[1], &args[2]),
        3 if args[0] == "!" => return evaluate(env, &args[1..]).map(|r| !r),
        4 if args[0] == "!" => return evaluate(env, &args[1..]).map(|r| !r),
        _ => e.or()?,
    };
    if e.pos < args.len() {
        return Err(Syntax(format!("{}: unexpected operator", args[e.pos])));
    }
    Ok(r)
}

async fn test(ctx: ProgramContext) -> ExitStatus {
    let env = Env::new(ctx);
    let arg0 = env.args.first().cloned().unwrap_or_default();
    let base = arg0.rsplit('/').next().unwrap_or(&arg0).to_owned();
    let mut args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let closing = match base.as_str() {
        "[" => Some("]"),
        "[[" => Some("]]"),
        _ => None,
    };
    if let Some(close) = closing {
        if args.last().map(String::as_str) != Some(close) {
            env.error(format!("missing {close}")).await;
            return ExitStatus::Exited(2);
        }
        args.pop();
    }
    match evaluate(&env, &args) {
        Ok(true) => ExitStatus::Exited(0),
        Ok(false) => ExitStatus::Exited(1),
        Err(Syntax(msg)) => {
            env.error(msg).await;
            ExitStatus::Exited(2)
        }
    }
}
