//! The syntax tree of a shell script.

use std::sync::Arc;

/// A sequence of and-or lists, each run in the foreground or in the background.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct List {
    pub items: Vec<ListItem>,
}

/// One element of a [`List`].
///
/// The parts a subshell runs (an and-or list in the background, a pipeline element,
/// `( ... )`) are shared (`Arc`): starting a subshell never copies a syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListItem {
    pub and_or: Arc<AndOr>,
    /// Terminated by `&`.
    pub background: bool,
}

/// `a && b || c`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(Connector, Pipeline)>,
}

/// `&&` or `||`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connector {
    And,
    Or,
}

/// `[!] a | b | c`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipeline {
    pub bang: bool,
    pub commands: Vec<Arc<Command>>,
}

/// One command of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    Simple(SimpleCommand),
    Compound(Compound, Vec<Redir>),
    FuncDef(String, Arc<Command>),
}

/// `VAR=x cmd arg... [redirections]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct SimpleCommand {
    pub assigns: Vec<(String, Word)>,
    pub words: Vec<Word>,
    pub redirs: Vec<Redir>,
    pub line: u32,
}

/// Compound commands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Compound {
    Brace(List),
    Subshell(Arc<List>),
    If {
        branches: Vec<(List, List)>,
        otherwise: Option<List>,
    },
    Loop {
        until: bool,
        cond: List,
        body: List,
    },
    For {
        var: String,
        items: Option<Vec<Word>>,
        body: List,
    },
    Case {
        word: Word,
        arms: Vec<CaseArm>,
    },
}

/// `pat1 | pat2) body ;;`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CaseArm {
    pub patterns: Vec<Word>,
    pub body: List,
}

/// A redirection.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Redir {
    /// The file descriptor written before the operator, if any.
    pub fd: Option<u32>,
    pub op: RedirOp,
    pub target: Word,
}

/// Redirection operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedirOp {
    /// `<`
    In,
    /// `>`
    Out,
    /// `>|`
    Clobber,
    /// `>>`
    Append,
    /// `<>`
    ReadWrite,
    /// `<&`
    DupIn,
    /// `>&`
    DupOut,
    /// `<<` / `<<-`: the target is the (already read) document.
    HereDoc,
}

/// A word: parts concatenated.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Word {
    pub parts: Vec<Part>,
}

/// One part of a word.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    /// Unquoted literal text (pattern characters are active).
    Lit(String),
    /// Quoted literal text (single quotes, backslash escapes, quoted here-documents).
    Quoted(String),
    /// `"..."`.
    Double(Vec<Part>),
    /// `$x`, `${x...}`.
    Param(Param),
    /// `$(...)` or `` `...` ``.
    Command(Arc<List>),
    /// `$((...))`.
    Arith(Word),
    /// `~` or `~user` at the start of a word.
    Tilde(String),
}

/// A parameter expansion.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Param {
    pub name: String,
    pub op: ParamOp,
}

/// What a parameter expansion does with the value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParamOp {
    Plain,
    Length,
    /// `${x-w}` / `${x:-w}`.
    Default(bool, Word),
    /// `${x=w}` / `${x:=w}`.
    Assign(bool, Word),
    /// `${x?w}` / `${x:?w}`.
    Error(bool, Word),
    /// `${x+w}` / `${x:+w}`.
    Alt(bool, Word),
    /// `${x#p}` / `${x##p}` (true: longest).
    TrimPrefix(bool, Word),
    /// `${x%p}` / `${x%%p}` (true: longest).
    TrimSuffix(bool, Word),
}

impl Word {
    /// The text of a word made only of unquoted literal text.
    pub(super) fn as_plain_lit(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// Whether any part is quoted (for here-document delimiters).
    pub(super) fn has_quotes(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Quoted(_) | Part::Double(_)))
    }

    /// The text after quote removal, for words without expansions.
    pub(super) fn literal_text(&self) -> String {
        fn walk(parts: &[Part], out: &mut String) {
            for p in parts {
                match p {
                    Part::Lit(s) | Part::Quoted(s) => out.push_str(s),
                    Part::Double(inner) => walk(inner, out),
                    Part::Param(p) => {
                        out.push('$');
                        out.push_str(&p.name);
                    }
                    Part::Tilde(u) => {
                        out.push('~');
                        out.push_str(u);
                    }
                    Part::Command(_) | Part::Arith(_) => {}
                }
            }
        }
        let mut s = String::new();
        walk(&self.parts, &mut s);
        s
    }
}
