//! The manual pages of the command line: `ptrace(1)` and one page per subcommand
//! (`ptrace-submit(1)`, `ptrace-dump(1)`, ...), rendered by clap_mangen from the command line's
//! own definition (the clap derive of [`super::Cli`]), so that the pages cannot say other than
//! `--help`. The sections clap knows nothing of (exit status, environment, files, examples, see
//! also) are added here. `make install` writes the pages with the hidden `ptrace man DIR`.
//!
//! The pages are in section 1, as other commands named after a system call are (kill(1) and
//! kill(2)): `man 1 ptrace` opens this tool's page, `man 2 ptrace` the system call's.

use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;
use std::path::{Path, PathBuf};

/// The manual section of every page.
pub const SECTION: &str = "1";

/// The name of the manual the pages belong to (the centre of each page's header).
const MANUAL: &str = "libptrace manual";

/// Writes the page of `command` (`<name>.1`) and one page per subcommand that is not hidden
/// (`<name>-<subcommand>.1`) into `dir`, which must exist, dated `date` (`YYYY-MM-DD`, see
/// [`iso_date`]); returns the files written.
pub fn write_pages(command: clap::Command, dir: &Path, date: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut command = command.disable_help_subcommand(true);
    // Gives each subcommand its display name (`ptrace-submit`) and usage (`ptrace submit`).
    command.build();
    let mut written = Vec::new();
    for page in pages(&command) {
        let path = dir.join(format!("{}.{SECTION}", page_name(page)));
        std::fs::write(&path, render(&command, page, date)?)?;
        written.push(path);
    }
    Ok(written)
}

/// The commands that get a page: `top` and its subcommands that are not hidden.
fn pages(top: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    std::iter::once(top).chain(top.get_subcommands().filter(|sub| !sub.is_hide_set()))
}

/// The page name of a built command: `ptrace`, `ptrace-submit`...
fn page_name(command: &clap::Command) -> &str {
    command.get_display_name().unwrap_or(command.get_name())
}

/// The roff text of `page`, the page of `top` itself or of one of its subcommands.
fn render(top: &clap::Command, page: &clap::Command, date: &str) -> std::io::Result<Vec<u8>> {
    let version = top.get_version().unwrap_or_default();
    let man = Man::new(page.clone())
        .section(SECTION)
        .date(date)
        .source(format!("libptrace {version}"))
        .manual(MANUAL);
    // Each clap_mangen section starts with roff's apostrophe preamble: kept once, at the top.
    let preamble = Roff::new().render();
    let mut text = preamble.clone();
    let clap_section = |write: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut section = Vec::new();
        write(&mut section)?;
        let section = String::from_utf8_lossy(&section).into_owned();
        Ok::<_, std::io::Error>(section.strip_prefix(&preamble).unwrap_or(&section).to_string())
    };
    let ours = |roff: Roff| {
        let section = roff.render();
        section.strip_prefix(&preamble).unwrap_or(&section).to_string()
    };

    text += &clap_section(&|w| man.render_title(w))?;
    text += &clap_section(&|w| man.render_name_section(w))?;
    text += &clap_section(&|w| man.render_synopsis_section(w))?;
    text += &clap_section(&|w| man.render_description_section(w))?;
    if page.get_arguments().any(|arg| !arg.is_hide_set()) {
        text += &clap_section(&|w| man.render_options_section(w))?;
    }
    let is_top = std::ptr::eq(top, page);
    if is_top {
        text += &clap_section(&|w| man.render_subcommands_section(w))?;
        text += &ours(top_sections());
    }
    if page.get_version().is_some() {
        text += &clap_section(&|w| man.render_version_section(w))?;
    }
    text += &ours(see_also(top, page));
    Ok(text.into_bytes())
}

/// The UTC date of `unix_seconds` as `YYYY-MM-DD`, the form of a page's date (the proleptic
/// Gregorian calendar, counting days from 1970-01-01 in eras of 400 years).
pub fn iso_date(unix_seconds: u64) -> String {
    const DAYS_PER_ERA: u64 = 146_097;
    // Days since 0000-03-01: a year that starts in March ends with its leap day.
    let days = unix_seconds / 86_400 + 719_468;
    let (era, day_of_era) = (days / DAYS_PER_ERA, days % DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / (DAYS_PER_ERA - 1)) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A `.TP` paragraph: `tag` on its own line, `text` indented under it.
fn tagged(roff: &mut Roff, tag: impl Into<Vec<Inline>>, text: &str) {
    roff.control("TP", []);
    roff.text(tag);
    roff.text([roman(text)]);
}

/// A command line shown as an example: `.EX` block of `line`, after `what` it does.
fn example(roff: &mut Roff, what: &str, line: &str) {
    roff.control("PP", []);
    roff.text([roman(what)]);
    roff.control("PP", []);
    roff.control("RS", ["4"]);
    roff.text([bold(line)]);
    roff.control("RE", []);
}

/// The sections of `ptrace(1)` that clap does not write: exit status, environment, files and
/// examples.
fn top_sections() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    tagged(
        &mut roff,
        [bold("0")],
        "The snapshot was written (and sent to every backend asked for).",
    );
    tagged(
        &mut roff,
        [bold("1")],
        "An error, said in one line on standard error; a target that died while it was being \
         captured is one too (what was captured is written, marked incomplete).",
    );
    tagged(
        &mut roff,
        [bold("2")],
        "The command line is wrong (the usage is printed).",
    );
    tagged(
        &mut roff,
        [bold("124")],
        "A native module callback was still running one second past --max-stop-ms: ptrace exited \
         without a snapshot, so that the kernel resumes the target.",
    );
    tagged(
        &mut roff,
        [bold("128+N")],
        "ptrace got signal N (SIGINT, SIGTERM or SIGHUP): the target was detached and runs again, \
         and a partial snapshot file was removed.",
    );
    roff.control("PP", []);
    roff.text([roman(
        "With --exec, ptrace exits as the program did (128 + the signal when it died of one), \
         whether or not the snapshot could be written.",
    )]);

    roff.control("SH", ["ENVIRONMENT"]);
    tagged(
        &mut roff,
        [bold("DEBUGINFOD_URLS")],
        "The debuginfod servers (separated by spaces) that missing debug files are fetched from, \
         unless --no-debuginfod is given.",
    );
    tagged(
        &mut roff,
        [bold("DEBUGINFOD_CACHE_PATH")],
        "Where fetched debug files are kept (default: $XDG_CACHE_HOME/debuginfod_client, else \
         $HOME/.cache/debuginfod_client).",
    );
    tagged(
        &mut roff,
        [bold("DEBUGINFOD_TIMEOUT")],
        "The most seconds one download may go without progress (default 90; 0: no limit but \
         --debuginfod-timeout).",
    );
    tagged(
        &mut roff,
        [bold("TMPDIR")],
        "Where the core read from standard input by --core - is kept while it is read, unless \
         --spool-dir is given (default: /tmp).",
    );
    tagged(
        &mut roff,
        [bold("PATH")],
        "Where --exec looks for PROGRAM when its name has no slash.",
    );

    roff.control("SH", ["FILES"]);
    tagged(
        &mut roff,
        [italic("prefix"), roman("/share/libptrace/lua/pmodule.d.lua")],
        "The Lua module API as LuaLS stubs, for editors.",
    );
    tagged(
        &mut roff,
        [
            italic("prefix"),
            roman("/share/libptrace/schema/snapshot.schema.json"),
        ],
        "The JSON Schema of the snapshot file.",
    );
    tagged(
        &mut roff,
        [italic("prefix"), roman("/include/pmodule.h")],
        "The C API of native modules and of programs embedding libptrace (pkg-config: libptrace).",
    );
    tagged(
        &mut roff,
        [roman("/usr/lib/debug")],
        "Separate debug files, looked up by build id and by debug link (after --debug-dir).",
    );
    roff.control("PP", []);
    roff.text([
        italic("prefix"),
        roman(" is where libptrace is installed, /usr/local by default."),
    ]);

    roff.control("SH", ["EXAMPLES"]);
    example(
        &mut roff,
        "Snapshot process 1234 into the current folder and print the readable dump:",
        "ptrace --pretty-print 1234",
    );
    example(
        &mut roff,
        "Run a program and snapshot it if it crashes, with the Lua modules of a folder:",
        "ptrace --module-path ./modules --exec -- ./server --port 8080",
    );
    example(
        &mut roff,
        "Snapshot a core file of /usr/bin/server, writing the JSON to standard output:",
        "ptrace -o - --core core.1234 /usr/bin/server",
    );
    example(
        &mut roff,
        "Print the readable dump of a saved snapshot again:",
        "ptrace dump server.1234.1760000000.json",
    );
    example(
        &mut roff,
        "Install the bash completions for the current user:",
        "ptrace completions bash > ~/.local/share/bash-completion/completions/ptrace",
    );
    roff
}

/// The SEE ALSO section of `page`: the other pages of the tool, then the system call ptrace(2)
/// and how each is reached, since both are named `ptrace`.
fn see_also(top: &clap::Command, page: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SEE ALSO"]);
    let mut line = Vec::new();
    for other in pages(top).filter(|other| !std::ptr::eq(*other, page)) {
        line.push(bold(page_name(other)));
        line.push(roman(format!("({SECTION}), ")));
    }
    line.extend([bold("ptrace"), roman("(2), "), bold("core"), roman("(5), ")]);
    line.extend([bold("gdb"), roman("(1)")]);
    roff.text(line);
    roff.control("PP", []);
    roff.text([
        roman("This tool's page and the system call's share the name "),
        bold("ptrace"),
        roman(": "),
        bold("man 1 ptrace"),
        roman(" opens this tool's page, "),
        bold("man 2 ptrace"),
        roman(" the system call's. A bare "),
        bold("man ptrace"),
        roman(
            " opens the first it finds in man's section order (man-db's default puts section 1 \
             before section 2), given that the prefix libptrace is installed in is on the \
             manual path.",
        ),
    ]);
    roff
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The pages of the real command line, written into a temporary folder.
    fn written() -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = write_pages(super::super::Cli::command(), dir.path(), "2025-10-09").expect("write pages");
        (dir, files)
    }

    fn names(files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|f| f.file_name().expect("file name").to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn dates_in_the_gregorian_calendar() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(86_399), "1970-01-01");
        assert_eq!(iso_date(951_782_400), "2000-02-29");
        assert_eq!(iso_date(1_760_000_000), "2025-10-09");
        assert_eq!(iso_date(4_107_542_400), "2100-03-01");
    }

    #[test]
    fn one_page_for_the_tool_and_one_per_visible_subcommand() {
        let (_dir, files) = written();
        assert_eq!(
            names(&files),
            [
                "ptrace.1",
                "ptrace-submit.1",
                "ptrace-dump.1",
                "ptrace-view.1",
                "ptrace-completions.1"
            ]
        );
    }

    #[test]
    fn the_tool_page_has_the_options_the_subcommands_and_our_sections_once() {
        let (_dir, files) = written();
        let page = std::fs::read_to_string(&files[0]).expect("read ptrace.1");
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page}");
        assert_eq!(
            page.matches(".ds Aq").count(),
            2,
            "one preamble (.ie/.el): {page}"
        );
        assert!(
            page.contains(&format!(
                ".TH ptrace 1 2025-10-09 \"libptrace {}\" \"libptrace manual\"",
                env!("CARGO_PKG_VERSION")
            )),
            "{page}"
        );
        for heading in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "SUBCOMMANDS",
            "\"EXIT STATUS\"",
            "ENVIRONMENT",
            "FILES",
            "VERSION",
            "EXAMPLES",
            "\"SEE ALSO\"",
        ] {
            assert_eq!(
                page.matches(&format!(".SH {heading}\n")).count(),
                1,
                "{heading}: {page}"
            );
        }
        // Options of the derive, and no hidden one.
        assert!(page.contains("\\-\\-module\\-path"), "{page}");
        assert!(page.contains("\\-\\-max\\-stop\\-ms"), "{page}");
        assert!(!page.contains("hold\\-stopped"), "{page}");
        // The subcommands point to their pages; the hidden generator is not among them.
        assert!(page.contains("ptrace\\-submit(1)"), "{page}");
        assert!(!page.contains("ptrace\\-man"), "{page}");
        // The way to the system call's page.
        assert!(page.contains("man 2 ptrace"), "{page}");
    }

    #[test]
    fn a_subcommand_page_has_its_own_options_and_points_back_to_the_tool() {
        let (_dir, files) = written();
        let page = std::fs::read_to_string(&files[1]).expect("read ptrace-submit.1");
        assert!(page.contains(".TH ptrace-submit 1 "), "{page}");
        assert!(page.contains("\\-\\-remove"), "{page}");
        assert!(!page.contains(".SH \"EXIT STATUS\""), "{page}");
        let see_also = page.split(".SH \"SEE ALSO\"").nth(1).expect("SEE ALSO");
        assert!(see_also.contains("\\fBptrace\\fR(1)"), "{see_also}");
        assert!(see_also.contains("\\fBptrace\\-dump\\fR(1)"), "{see_also}");
        assert!(!see_also.contains("ptrace\\-submit\\fR(1)"), "{see_also}");
    }
}
