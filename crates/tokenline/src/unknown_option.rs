//! The usage error for an option a command does not have (`tokenline bank unlock --reason
//! …`): which options it does take, instead of clap's guess.
//!
//! clap answers an unknown `--long` with the command's option whose name is most alike
//! (Jaro similarity above 0.7), and writes the usage line as if that option had been given.
//! Names that share a few letters pass that bar: `bank unlock --reason` was answered "a
//! similar argument exists: '--version'" with "Usage: tokenline bank unlock --version
//! <LOGIN>", and without `--version` it would be `--json`. An operator who meant an option
//! of another command (`bank backoffice-revoke --reason`) is sent the wrong way. This module
//! answers instead with the command's own usage line and the list of the options it takes.
//!
//! The same error stood for other mistakes, each answered with the wrong problem: an option
//! before its subcommand's name (`bank --db F unlock`: "'unlock --db' exists"), a negative
//! number as an option's value (`bank serve --workers -1`: "has no option -1"), an option
//! after `--` ("has no option --workers; it takes … --workers"). [`explained`] tells them apart.

use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::Command;
use std::ffi::OsString;

/// `e` as the user sees it. For an argument clap did not expect (`-x`, `--xyz`, a value too
/// many), the same usage error (exit 2) with the usage line of the (sub)command the arguments
/// `args` (without the program's name) name and a tip that names the real problem, in place of
/// clap's guess ("'unlock --json' exists"):
/// - an option of a subcommand named later (`bank --db F unlock`): put it after that name;
/// - a word starting with `-` where an option wanted its value (`--workers -1`): the
///   option's own answer to that value (`--workers=-1`), or how to give such a value;
/// - a word after `--` (`bank serve -- --workers 2`): everything there is a value, and the
///   command takes no more;
/// - a value too many, or an option the command does not have: what the command takes.
///
/// A switch given a value (`--json=yes`) is told it takes none. Any other error is as it is.
/// `cmd` is the program's command, as `e` was parsed with.
pub fn explained(e: clap::Error, mut cmd: Command, args: &[OsString]) -> clap::Error {
    let kind = e.kind();
    if kind != ErrorKind::UnknownArgument && kind != ErrorKind::TooManyValues {
        return e;
    }
    let Some(ContextValue::String(given)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    let mut given = given.clone();
    cmd.build();
    let stop = walk(&cmd, args);
    // A copy: rendering a usage line needs a command of one's own (built above, it keeps its
    // full name `tokenline bank unlock` and the program's global options).
    let mut sub = stop.cmd.clone();
    let path = path_of(&sub);
    let name = given.split([' ', '=']).next().unwrap_or(&given).to_owned();
    if kind == ErrorKind::TooManyValues {
        let switch = sub
            .get_arguments()
            .find(|a| a.get_long().is_some_and(|l| name == format!("--{l}")))
            .is_some_and(|a| !a.get_action().takes_values());
        if !switch {
            return e;
        }
        let tip = format!("{name} is a switch and takes no value: write {name} alone");
        let value = e.get(ContextKind::InvalidValue).cloned();
        return answer(kind, &mut sub, value, given, vec![tip.into()]);
    }
    let after_dashes = stop
        .dashes
        .is_some_and(|d| args[d + 1..].iter().any(|a| a.to_string_lossy() == given));
    let tips: Vec<StyledStr> = if after_dashes {
        if sub.find_subcommand(&given).is_some() {
            return e; // clap's tip says it: "subcommand 'unlock' exists; to use it, remove the '--'"
        }
        let mut tip = format!(
            "every word after `--` is a value, and `{path}` takes {}: '{given}' is one too many",
            values(&sub)
        );
        if has_option(&sub, &name) {
            tip.push_str(&format!("; the option {name} goes before the `--`"));
        }
        vec![tip.into()]
    } else if !given.starts_with('-') {
        if sub.has_subcommands() {
            return e;
        }
        vec![format!(
            "`{path}` takes {}: '{given}' is one too many (quote a value that has spaces)",
            values(&sub)
        )
        .into()]
    } else if let Some(option) = &stop.pending {
        // clap reads a word that starts with `-` as an option, never as the value before it:
        // what the option says of the word as its value is the real answer. The whole word,
        // not the letter clap stopped at (`--code -123456`: clap names '-1').
        if let Some(word) = stop.at.and_then(|at| args.get(at)) {
            given = word.to_string_lossy().into_owned();
        }
        let joined = if option.starts_with("--") {
            format!("{option}={given}")
        } else {
            format!("{option}{given}")
        };
        let mut again: Vec<OsString> = args.to_vec();
        if let Some(at) = stop.at {
            again[at] = joined.clone().into();
            again.remove(at - 1);
        }
        let program = cmd.get_name().to_owned();
        match cmd.try_get_matches_from_mut(std::iter::once(program.into()).chain(again)) {
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::InvalidValue | ErrorKind::ValueValidation
                ) =>
            {
                return e;
            }
            _ => vec![format!(
                "{given} was read as an option, so {option} had no value: to give {option} a \
                 value that starts with '-', write {joined}"
            )
            .into()],
        }
    } else if let Some(target) = stop.later {
        sub = target.clone();
        let there = path_of(&sub);
        if has_option(&sub, &name) {
            vec![format!(
                "{name} is an option of `{there}`: put it after `{}` ({there} {name} …)",
                sub.get_name()
            )
            .into()]
        } else {
            vec![format!(
                "`{there}` has no option {name} (and an option goes after its command's name); \
                 it takes {} (`{there} --help` says what each does)",
                options(&sub).join(", ")
            )
            .into()]
        }
    } else {
        let mut tips = vec![StyledStr::from(format!(
            "`{path}` has no option {name}; it takes {} (`{path} --help` says what each does)",
            options(&sub).join(", ")
        ))];
        // clap's tip "to pass '-1' as a value, use '-- -1'" stands; its other, "'SUB --flag'
        // exists", is a guess by the likeness of the names.
        if let Some(ContextValue::StyledStrs(more)) = e.get(ContextKind::Suggested) {
            tips.extend(
                more.iter()
                    .filter(|t| t.to_string().starts_with("to pass"))
                    .cloned(),
            );
        }
        tips
    };
    answer(ErrorKind::UnknownArgument, &mut sub, None, given, tips)
}

/// A usage error of kind `kind` about the argument `given` (and its `value`) with `tips` and the
/// usage line of `sub`.
fn answer(
    kind: ErrorKind,
    sub: &mut Command,
    value: Option<ContextValue>,
    given: String,
    tips: Vec<StyledStr>,
) -> clap::Error {
    let mut out = clap::Error::new(kind).with_cmd(sub);
    out.insert(ContextKind::InvalidArg, ContextValue::String(given));
    if let Some(v) = value {
        out.insert(ContextKind::InvalidValue, v);
    }
    out.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    out.insert(
        ContextKind::Usage,
        ContextValue::StyledStr(sub.render_usage()),
    );
    out
}

/// `tokenline bank unlock` for the built command `bank unlock`.
fn path_of(cmd: &Command) -> String {
    cmd.get_bin_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned()
}

/// Whether `cmd` has the option `name` (`--db`, `-v`).
fn has_option(cmd: &Command, name: &str) -> bool {
    cmd.get_arguments().any(|a| match name.strip_prefix("--") {
        Some(long) => a.get_long() == Some(long),
        None => {
            name.chars()
                .nth(1)
                .is_some_and(|c| a.get_short() == Some(c))
                && name.len() == 2
        }
    })
}

/// The values `cmd` takes besides its options: "no values, only options", "one value,
/// <LOGIN>", "the values <SERIAL> <CODE>".
fn values(cmd: &Command) -> String {
    let names: Vec<String> = cmd
        .get_positionals()
        .map(|a| {
            let name = a
                .get_value_names()
                .and_then(|v| v.first())
                .map_or_else(|| a.get_id().as_str().to_uppercase(), ToString::to_string);
            let many = a.get_num_args().is_some_and(|n| n.max_values() > 1);
            format!("<{name}>{}", if many { "..." } else { "" })
        })
        .collect();
    match names.as_slice() {
        [] => "no values, only options".into(),
        [one] => format!("one value, {one}"),
        more => format!("the values {}", more.join(" ")),
    }
}

/// The options of `cmd` that its help shows, `--long` (or `-s` without a long name), in the
/// order of its help.
fn options(cmd: &Command) -> Vec<String> {
    cmd.get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set())
        .filter_map(|a| match (a.get_long(), a.get_short()) {
            (Some(l), _) => Some(format!("--{l}")),
            (None, Some(s)) => Some(format!("-{s}")),
            (None, None) => None,
        })
        .collect()
}

/// Where clap stopped in `args`.
struct Stop<'c> {
    /// The (sub)command reached.
    cmd: &'c Command,
    /// The index of the word clap stopped at (an option the command does not have).
    at: Option<usize>,
    /// The option just before that word, as given (`--workers`), when it wanted a value.
    pending: Option<String>,
    /// The index of a `--` that the walk reached: every word after it is a value.
    dashes: Option<usize>,
    /// The subcommand of `cmd` that the words after the stop name, if any.
    later: Option<&'c Command>,
}

/// The (sub)command of `cmd` that `args` name, up to the first option it does not have (where
/// clap stopped): a word that names a subcommand of the command reached so far descends into
/// it; its options are passed over with their values. A word that starts with `-` is never an
/// option's value, as for clap.
fn walk<'c>(cmd: &'c Command, args: &[OsString]) -> Stop<'c> {
    let words: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
    let mut stop = Stop {
        cmd,
        at: None,
        pending: None,
        dashes: None,
        later: None,
    };
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let wants_value = stop.pending.take();
        if w == "--" {
            stop.dashes = Some(i);
            break;
        }
        let takes = |a: &clap::Arg| a.get_action().takes_values();
        let dashed =
            |a: &clap::Arg| a.is_allow_hyphen_values_set() || a.is_allow_negative_numbers_set();
        // Some((whether the next word is the option's value, whether that value may start
        // with `-`)), None for an unknown option.
        let option = if let Some(long) = w.strip_prefix("--") {
            let (name, value) = long
                .split_once('=')
                .map_or((long, None), |(n, v)| (n, Some(v)));
            stop.cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(name))
                .map(|a| (value.is_none() && takes(a), dashed(a)))
        } else if let Some(shorts) = w.strip_prefix('-').filter(|s| !s.is_empty()) {
            // `-v`, `-vv`, `-k FILE`, `-kFILE`: a letter that takes a value ends the word.
            let mut next_is_value = Some((false, false));
            for (i, c) in shorts.char_indices() {
                match stop.cmd.get_arguments().find(|a| a.get_short() == Some(c)) {
                    None => next_is_value = None,
                    Some(a) if takes(a) => {
                        next_is_value = Some((i + c.len_utf8() == shorts.len(), dashed(a)));
                    }
                    Some(_) => continue,
                }
                break;
            }
            next_is_value
        } else {
            match stop.cmd.find_subcommand(w.as_ref()) {
                Some(sub) => stop.cmd = sub,
                None if stop.cmd.has_subcommands() => break, // not a subcommand: stay here
                None => {}                                   // a positional value
            }
            i += 1;
            continue;
        };
        match option {
            None => {
                // The unknown option clap stopped at; a subcommand named after it is where
                // the user meant it.
                stop.at = Some(i);
                stop.pending = wants_value;
                stop.later = words[i + 1..]
                    .iter()
                    .position(|w| stop.cmd.find_subcommand(w.as_ref()).is_some())
                    .map(|j| walk(stop.cmd, &args[i + 1 + j..]).cmd);
                return stop;
            }
            Some((true, dashed)) => match words.get(i + 1) {
                Some(v) if v.starts_with('-') && v.len() > 1 && !dashed => {
                    stop.pending = Some(w.to_string());
                }
                _ => i += 1,
            },
            Some((false, _)) => {}
        }
        i += 1;
    }
    stop.pending = None;
    stop
}
