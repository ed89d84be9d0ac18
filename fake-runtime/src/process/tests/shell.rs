//! The shell: parsing, quoting, expansion, control flow, redirections, pipelines.

use super::{busybox, run, run_with_input, sh, sh_in};
use crate::process::{ExitStatus, Input};

#[tokio::test]
async fn sh_c_exit_3_exits_3_and_echo_writes_to_stdout() {
    let r = sh("echo out; echo err >&2; exit 3").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("out\n".into(), "err\n".into(), 3)
    );
}

#[tokio::test]
async fn exit_status_is_taken_modulo_256() {
    assert_eq!(sh("exit 255").await.code(), 255);
    assert_eq!(sh("exit 256").await.code(), 0);
    assert_eq!(sh("exit 300").await.code(), 44);
}

#[tokio::test]
async fn exit_without_argument_keeps_the_last_status() {
    assert_eq!(sh("false; exit").await.code(), 1);
    assert_eq!(sh("true").await.code(), 0);
    assert_eq!(sh("false").await.code(), 1);
}

#[tokio::test]
async fn exit_with_a_bad_number_is_illegal_number_and_status_2() {
    let r = sh("exit foo").await;
    assert_eq!(
        (r.err(), r.code()),
        ("sh: exit: line 1: Illegal number: foo\n".into(), 2)
    );
}

#[tokio::test]
async fn stdout_and_stderr_stay_separate_in_order() {
    let r = sh("echo 1; echo 2 >&2; echo 3; echo 4 >&2").await;
    assert_eq!((r.out(), r.err()), ("1\n3\n".into(), "2\n4\n".into()));
}

#[tokio::test]
async fn single_quotes_double_quotes_and_backslashes_quote_as_posix_says() {
    let r =
        sh(r#"x='a  b'; echo 'single $x' "double $x" \$x plain\ word "q\"uote" 'it'\''s'"#).await;
    assert_eq!(
        r.out(),
        "single $x double a  b $x plain word q\"uote it's\n"
    );
}

#[tokio::test]
async fn unquoted_expansions_are_split_on_ifs_and_quoted_ones_are_not() {
    let r = sh(
        r#"x='a  b   c'; for w in $x; do echo "[$w]"; done; for w in "$x"; do echo "[$w]"; done"#,
    )
    .await;
    assert_eq!(r.out(), "[a]\n[b]\n[c]\n[a  b   c]\n");
    let r = sh(r#"IFS=:; x=a:b::c; for w in $x; do echo "[$w]"; done"#).await;
    assert_eq!(r.out(), "[a]\n[b]\n[]\n[c]\n");
}

#[tokio::test]
async fn special_parameters_expand() {
    let r = run(&[
        "sh",
        "-c",
        r#"echo "$0 $# $1 $2 [$@] [$*]"; false; echo $?; echo $$"#,
        "name",
        "a",
        "b c",
    ])
    .await;
    assert_eq!(r.out(), "name 2 a b c [a b c] [a b c]\n1\n1\n");
}

#[tokio::test]
async fn quoted_at_keeps_arguments_apart() {
    let r = run(&["sh", "-c", r#"for a in "$@"; do echo "<$a>"; done; set --; for a in "$@"; do echo never; done; echo done"#, "sh", "x y", "", "z"]).await;
    assert_eq!(r.out(), "<x y>\n<>\n<z>\ndone\n");
}

#[tokio::test]
async fn dollar_dollar_is_the_shell_pid_and_subshells_keep_it() {
    let r = sh("echo $$; (echo $$); echo $$ | cat").await;
    assert_eq!(r.out(), "1\n1\n1\n");
}

#[tokio::test]
async fn dollar_bang_is_the_last_background_pid() {
    let r = sh("sleep 0 & echo $!; wait").await;
    assert_eq!(r.out(), "2\n");
}

#[tokio::test]
async fn parameter_expansion_operators_work() {
    let r = sh(r#"unset u; e=; s=set; echo "${u-d1} ${e-d2} ${e:-d3} ${s:-d4} ${u+a1} ${s+a2} ${#s} ${u:=new} $u""#).await;
    assert_eq!(r.out(), "d1  d3 set  a2 3 new new\n");
    let r = sh(r#"p=/a/b/c.tar.gz; echo ${p#*/} ${p##*/} ${p%.*} ${p%%.*}"#).await;
    assert_eq!(r.out(), "a/b/c.tar.gz c.tar.gz /a/b/c.tar /a/b/c\n");
}

#[tokio::test]
async fn parameter_error_expansion_prints_and_exits_2() {
    let r = sh(r#"echo ${nope?is missing}; echo after"#).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("".into(), "sh: nope: is missing\n".into(), 2)
    );
}

#[tokio::test]
async fn command_substitution_strips_trailing_newlines_and_sets_status() {
    let r = sh(
        r#"x=$(echo hi; echo there); echo "[$x]"; y=`echo back`; echo $y; z=$(exit 7); echo $?"#,
    )
    .await;
    assert_eq!(r.out(), "[hi\nthere]\nback\n7\n");
}

#[tokio::test]
async fn arithmetic_expansion_evaluates_integers() {
    let r = sh("i=5; echo $((i * 2 + 1)) $(( (1+2) * 3 )) $((i > 3)); i=$((i+1)); echo $i").await;
    assert_eq!(r.out(), "11 9 1\n6\n");
}

#[tokio::test]
async fn and_or_lists_short_circuit() {
    let r = sh("true && echo a; false && echo b; false || echo c; true || echo d; false && echo e || echo f").await;
    assert_eq!(r.out(), "a\nc\nf\n");
}

#[tokio::test]
async fn bang_negates_a_pipeline_status() {
    let r = sh("! false; echo $?; ! true; echo $?").await;
    assert_eq!(r.out(), "0\n1\n");
}

#[tokio::test]
async fn if_elif_else_pick_the_first_true_branch() {
    let r = sh("for n in 1 2 3; do if [ $n = 1 ]; then echo one; elif [ $n = 2 ]; then echo two; else echo other; fi; done").await;
    assert_eq!(r.out(), "one\ntwo\nother\n");
}

#[tokio::test]
async fn while_and_until_loops_run_with_break_and_continue() {
    let r = sh("i=0; while [ $i -lt 5 ]; do i=$((i+1)); [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done; echo end $i").await;
    assert_eq!(r.out(), "1\n3\nend 4\n");
    let r = sh("i=0; until [ $i -ge 3 ]; do echo $i; i=$((i+1)); done").await;
    assert_eq!(r.out(), "0\n1\n2\n");
}

#[tokio::test]
async fn for_loops_iterate_words_and_nested_break_leaves_both() {
    let r = sh(
        "for a in x y; do for b in 1 2; do [ $b = 2 ] && break 2; echo $a$b; done; done; echo out",
    )
    .await;
    assert_eq!(r.out(), "x1\nout\n");
}

#[tokio::test]
async fn case_matches_patterns_in_order() {
    let r = sh(r#"for w in apple b7 zz; do case $w in a*) echo A;; b[0-9]|c) echo B;; *) echo other;; esac; done"#).await;
    assert_eq!(r.out(), "A\nB\nother\n");
}

#[tokio::test]
async fn functions_take_positional_arguments_and_return_a_status() {
    let r = sh(r#"f() { echo "f:$1:$#"; return 4; }; f a b; echo $?; echo $1"#).await;
    assert_eq!(r.out(), "f:a:2\n4\n\n");
}

#[tokio::test]
async fn brace_groups_share_the_shell_and_subshells_do_not() {
    let r = sh("x=1; { x=2; }; echo $x; (x=3; echo in $x); echo $x").await;
    assert_eq!(r.out(), "2\nin 3\n2\n");
}

#[tokio::test]
async fn prefix_assignments_reach_only_that_command() {
    let r = sh("FOO=bar env | grep FOO; echo [$FOO]").await;
    assert_eq!(r.out(), "FOO=bar\n[]\n");
}

#[tokio::test]
async fn export_and_unset_change_the_child_environment() {
    let r = sh("A=1; export A; B=2; env | grep -E '^(A|B)='; unset A; env | grep -c '^A='").await;
    assert_eq!(r.out(), "A=1\n0\n");
}

#[tokio::test]
async fn pipelines_connect_stdout_to_stdin_and_report_the_last_status() {
    let r = sh("echo hello | tr a-z A-Z | cat; false | true; echo $?; true | false; echo $?").await;
    assert_eq!(r.out(), "HELLO\n0\n1\n");
}

#[tokio::test]
async fn set_o_pipefail_reports_a_failing_stage() {
    let r = sh("set -o pipefail; false | true; echo $?").await;
    assert_eq!(r.out(), "1\n");
}

#[tokio::test]
async fn redirections_to_files_truncate_append_and_read_back() {
    let r =
        sh("echo one > /tmp/f; echo two >> /tmp/f; cat < /tmp/f; echo three > /tmp/f; cat /tmp/f")
            .await;
    assert_eq!(r.out(), "one\ntwo\nthree\n");
}

#[tokio::test]
async fn fd_duplication_sends_streams_where_asked() {
    let r = sh("echo a 2>&1; echo b >&2; echo c 1>&2; ls /nope 2>&1; ls /nope 2>/dev/null; echo d >/dev/null").await;
    assert_eq!(r.out(), "a\nls: /nope: No such file or directory\n");
    assert_eq!(r.err(), "b\nc\n");
}

#[tokio::test]
async fn redirection_order_matters_for_2_to_1() {
    let sim = busybox();
    let r = sh_in(
        &sim,
        "ls /nope >/tmp/both 2>&1; ls /nope 2>&1 >/tmp/out; cat /tmp/both; echo ---; cat /tmp/out",
    )
    .await;
    assert_eq!(
        r.out(),
        "ls: /nope: No such file or directory\nls: /nope: No such file or directory\n---\n"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn numbered_fd_redirection_writes_that_fd() {
    let sim = busybox();
    let r = sh_in(
        &sim,
        "exec 3>/tmp/three; echo x >&3; echo y 3>/tmp/n >&3; cat /tmp/three /tmp/n",
    )
    .await;
    assert_eq!(r.out(), "x\ny\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn exec_with_only_redirections_redirects_the_rest_of_the_script() {
    let sim = busybox();
    let r = sh_in(&sim, "exec >/tmp/log 2>&1; echo hidden; ls /nope").await;
    assert_eq!(r.out(), "");
    assert_eq!(
        sim.read_file("/tmp/log").unwrap(),
        &b"hidden\nls: /nope: No such file or directory\n"[..]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn here_documents_expand_unless_the_delimiter_is_quoted() {
    let r = sh("x=world; cat <<EOF\nhello $x\nEOF\ncat <<'EOF'\nhello $x\nEOF\ncat <<-EOF\n\tindented\n\tEOF\n").await;
    assert_eq!(r.out(), "hello world\nhello $x\nindented\n");
}

#[tokio::test]
async fn redirecting_input_from_a_missing_file_is_status_1() {
    let r = sh("cat < /nope; echo $?").await;
    assert_eq!(
        (r.out(), r.err()),
        ("1\n".into(), "sh: can't open /nope: no such file\n".into())
    );
}

#[tokio::test]
async fn unknown_commands_are_not_found_with_127() {
    let r = sh("nope; echo $?").await;
    assert_eq!(
        (r.out(), r.err()),
        ("127\n".into(), "sh: nope: not found\n".into())
    );
    let r = sh("/no/such").await;
    assert_eq!(
        (r.err(), r.code()),
        ("sh: /no/such: not found\n".into(), 127)
    );
}

#[tokio::test]
async fn a_non_executable_file_is_permission_denied_with_126() {
    let r = sh("/etc/passwd").await;
    assert_eq!(
        (r.err(), r.code()),
        ("sh: /etc/passwd: Permission denied\n".into(), 126)
    );
}

#[tokio::test]
async fn script_errors_name_the_script_and_line() {
    let sim = busybox();
    let r = sh_in(&sim, "printf 'echo ok\\nnope\\n' > /tmp/s.sh; sh /tmp/s.sh").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (
            "ok\n".into(),
            "/tmp/s.sh: line 2: nope: not found\n".into(),
            127
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn syntax_errors_print_busybox_messages_and_exit_2() {
    let r = sh("if true; then echo x").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (
            "".into(),
            "sh: syntax error: unexpected end of file (expecting \"fi\")\n".into(),
            2
        )
    );
    let r = sh("echo a; fi").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("".into(), "sh: syntax error: unexpected \"fi\"\n".into(), 2)
    );
    let r = sh("echo 'x").await;
    assert_eq!(r.err(), "sh: syntax error: unterminated quoted string\n");
}

#[tokio::test]
async fn a_syntax_error_on_a_later_line_runs_the_earlier_lines_first() {
    let r = sh("echo first\nfi").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (
            "first\n".into(),
            "sh: syntax error: unexpected \"fi\"\n".into(),
            2
        )
    );
}

#[tokio::test]
async fn cd_changes_directory_and_failures_are_status_2() {
    let r = sh("cd /etc && pwd; cd /nope; echo $?; cd; pwd").await;
    assert_eq!(r.out(), "/etc\n2\n/root\n");
    assert_eq!(
        r.err(),
        "sh: cd: line 1: can't cd to /nope: No such file or directory\n"
    );
}

#[tokio::test]
async fn read_builtin_splits_a_line_into_variables() {
    let sim = busybox();
    let r = run_with_input(
        &sim,
        &[
            "sh",
            "-c",
            "read a b; echo \"[$a][$b]\"; read c; echo \"[$c]\"; read d; echo $?",
        ],
        Input::from_bytes("one two three\nsecond\n"),
    )
    .await;
    assert_eq!(r.out(), "[one][two three]\n[second]\n1\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn sh_without_arguments_runs_the_script_on_stdin() {
    let sim = busybox();
    let r = run_with_input(
        &sim,
        &["sh"],
        Input::from_bytes("echo from stdin\nexit 5\n"),
    )
    .await;
    assert_eq!((r.out(), r.code()), ("from stdin\n".into(), 5));
    let r = run_with_input(&sim, &["sh"], Input::empty()).await;
    assert_eq!(r.status, ExitStatus::Exited(0));
    sim.shutdown().await;
}

#[tokio::test]
async fn foreground_children_share_the_shell_stdin() {
    let sim = busybox();
    let r = run_with_input(
        &sim,
        &["sh", "-c", "read first; cat"],
        Input::from_bytes("1\n2\n3\n"),
    )
    .await;
    assert_eq!(r.out(), "2\n3\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn set_e_exits_on_the_first_unchecked_failure() {
    let r =
        sh("set -e; false || echo handled; if false; then :; fi; echo before; false; echo after")
            .await;
    assert_eq!((r.out(), r.code()), ("handled\nbefore\n".into(), 1));
}

#[tokio::test]
async fn set_x_traces_commands_to_stderr() {
    let r = sh("set -x; echo hi").await;
    assert_eq!((r.out(), r.err()), ("hi\n".into(), "+ echo hi\n".into()));
}

#[tokio::test]
async fn globs_expand_to_sorted_matching_paths() {
    let r = sh("cd /etc && echo pass* gr*p; echo /etc/host*; echo /nomatch*").await;
    assert_eq!(
        r.out(),
        "passwd group\n/etc/hostname /etc/hosts\n/nomatch*\n"
    );
}

#[tokio::test]
async fn eval_and_dot_run_text_in_the_current_shell() {
    let sim = busybox();
    let r = sh_in(
        &sim,
        "eval 'x=5; echo $x'; echo 'y=7' > /tmp/lib; . /tmp/lib; echo $y",
    )
    .await;
    assert_eq!(r.out(), "5\n7\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn executable_scripts_with_a_shebang_run_through_their_interpreter() {
    let sim = busybox();
    let r = sh_in(&sim, "printf '#!/bin/sh\\necho script $1\\n' > /tmp/s; chmod +x /tmp/s; /tmp/s arg; cd /tmp && ./s two").await;
    assert_eq!(r.out(), "script arg\nscript two\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn command_v_and_type_describe_commands() {
    let r = sh("command -v ls; command -v echo; type cd; command -v nope; echo $?").await;
    assert_eq!(r.out(), "/bin/ls\necho\ncd is a shell builtin\n1\n");
}

#[tokio::test]
async fn tilde_expands_to_home() {
    let r = sh("echo ~ ~/x ~root").await;
    assert_eq!(r.out(), "/root /root/x /root\n");
}

#[tokio::test]
async fn shift_and_set_manage_positional_parameters() {
    let r = sh("set -- a b c; shift; echo $# $1; shift 5; echo $?; set x; echo $1").await;
    assert_eq!(r.out(), "2 b\n1\nx\n");
}

#[tokio::test]
async fn local_variables_are_restored_after_the_function() {
    let r = sh("x=outer; f() { local x=inner; echo $x; }; f; echo $x").await;
    assert_eq!(r.out(), "inner\nouter\n");
}

#[tokio::test]
async fn exec_replaces_the_shell_keeping_its_pid_and_redirections() {
    let sim = busybox();
    let r = sh_in(
        &sim,
        "echo $$; exec sh -c 'echo $$; ps -o pid,comm' 2>&1; echo never",
    )
    .await;
    assert_eq!(r.out(), "1\n1\n  PID COMMAND\n    1 ps\n");
    let r = sh_in(&sim, "exec nope; echo never").await;
    assert_eq!(
        (r.err(), r.code()),
        ("sh: exec: line 1: nope: not found\n".into(), 127)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn children_of_sh_get_the_environment_in_ash_table_order_with_shlvl_and_pwd() {
    let r = sh("env").await;
    assert_eq!(
        r.out(),
        "HOSTNAME=vm\nSHLVL=1\nHOME=/root\nPATH=/bin\nPWD=/\n"
    );
    let r = sh("ZED=1 A=2 env | grep -E '^(ZED|A)='; sh -c 'echo $SHLVL'").await;
    assert_eq!(r.out(), "A=2\nZED=1\n2\n");
}
