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

use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::Command;
use std::ffi::OsString;

/// `e` as the user sees it: for an unknown option (`-x`, `--xyz`), the same error with the
/// usage line of the (sub)command the arguments `args` (without the program's name) name,
/// the list of the options it takes in place of clap's guess, and clap's other tips; any
/// other error as it is. `cmd` is the program's command, as `e` was parsed with.
pub fn explained(e: clap::Error, mut cmd: Command, args: &[OsString]) -> clap::Error {
    if e.kind() != ErrorKind::UnknownArgument {
        return e;
    }
    let Some(ContextValue::String(given)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    if !given.starts_with('-') {
        return e; // a value too many: clap's error says it
    }
    cmd.build();
    // A copy: rendering a usage line needs a command of one's own (built above, it keeps its
    // full name `tokenline bank unlock` and the program's global options).
    let mut sub = subcommand_of(&cmd, args).clone();
    let path = sub
        .get_bin_name()
        .unwrap_or_else(|| sub.get_name())
        .to_owned();
    let mut tips = vec![StyledStr::from(format!(
        "`{path}` has no option {}; it takes {} (`{path} --help` says what each does)",
        given.split('=').next().unwrap_or(given),
        options(&sub).join(", ")
    ))];
    // clap's other tips: "'SUB --flag' exists", "to pass '--x' as a value, use '-- --x'".
    if let Some(ContextValue::StyledStrs(more)) = e.get(ContextKind::Suggested) {
        tips.extend(more.iter().cloned());
    }
    let mut out = clap::Error::new(ErrorKind::UnknownArgument).with_cmd(&sub);
    out.insert(ContextKind::InvalidArg, ContextValue::String(given.clone()));
    out.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    out.insert(
        ContextKind::Usage,
        ContextValue::StyledStr(sub.render_usage()),
    );
    out
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

/// The (sub)command of `cmd` that `args` name, up to the first option it does not have (where
/// clap stopped): a word that names a subcommand of the command reached so far descends into
/// it; its options are passed over with their values.
fn subcommand_of<'c>(mut cmd: &'c Command, args: &[OsString]) -> &'c Command {
    let mut words = args.iter().map(|a| a.to_string_lossy());
    while let Some(w) = words.next() {
        if w == "--" {
            break;
        }
        let takes = |a: &clap::Arg| a.get_action().takes_values();
        // Some(whether the next word is the option's value), None for an unknown option.
        let option = if let Some(long) = w.strip_prefix("--") {
            let (name, value) = long
                .split_once('=')
                .map_or((long, None), |(n, v)| (n, Some(v)));
            cmd.get_arguments()
                .find(|a| a.get_long() == Some(name))
                .map(|a| value.is_none() && takes(a))
        } else if let Some(shorts) = w.strip_prefix('-').filter(|s| !s.is_empty()) {
            // `-v`, `-vv`, `-k FILE`, `-kFILE`: a letter that takes a value ends the word.
            let mut next_is_value = Some(false);
            for (i, c) in shorts.char_indices() {
                match cmd.get_arguments().find(|a| a.get_short() == Some(c)) {
                    None => next_is_value = None,
                    Some(a) if takes(a) => next_is_value = Some(i + c.len_utf8() == shorts.len()),
                    Some(_) => continue,
                }
                break;
            }
            next_is_value
        } else {
            match cmd.find_subcommand(w.as_ref()) {
                Some(sub) => cmd = sub,
                None if cmd.has_subcommands() => break, // not a subcommand: stay here
                None => {}                              // a positional value
            }
            continue;
        };
        match option {
            None => break, // the unknown option clap stopped at
            Some(true) => {
                words.next();
            }
            Some(false) => {}
        }
    }
    cmd
}
