//! Drawing the [`App`] on a frame: a header line, the groups, frames and variables panes, and a
//! status line; the help, info and modules overlays over them. Only the rows that fit are
//! formatted, so a snapshot of hundreds of threads draws as fast as a small one.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::snapshot::{text, VariableState};

use super::app::{App, Overlay, Pane};
use super::keys::HELP;
use super::rows::{variable_at, Scope};

/// The styles used, plain when colours are off (`NO_COLOR`).
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    /// Whether colours are used.
    pub color: bool,
}

impl Theme {
    /// Colours unless the `NO_COLOR` environment variable is set (to anything but nothing).
    pub fn from_env() -> Self {
        let off = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !off }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::default().fg(color)
        } else {
            Style::default()
        }
    }

    fn selected(&self, focused: bool) -> Style {
        if focused {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        }
    }
}

/// The longest value text formatted for a row (the rest could never be seen).
const MAX_VALUE: usize = 400;

/// Draws `app` on `frame`.
pub fn draw(frame: &mut Frame<'_>, app: &App<'_>, theme: Theme) {
    // The groups pane as tall as its rows (and its title), up to a quarter of the screen.
    let most = (frame.area().height / 4).max(2);
    let groups_height = u16::try_from(app.groups.len() + 1).unwrap_or(u16::MAX).min(most);
    // The frames pane as tall as its rows, up to half of what is left: the variables get the
    // rest.
    let left = frame.area().height.saturating_sub(groups_height + 2);
    let frames_height = u16::try_from(app.frame_rows.len() + 1)
        .unwrap_or(u16::MAX)
        .min(left / 2)
        .max(2);
    let [header, groups, frames, variables, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(groups_height),
        Constraint::Length(frames_height),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(header_line(app, theme)), header);
    draw_groups(frame, app, theme, groups);
    draw_frames(frame, app, theme, frames);
    draw_variables(frame, app, theme, variables);
    frame.render_widget(Paragraph::new(status_line(app, theme)), status);
    if let Some(overlay) = app.overlay {
        draw_overlay(frame, app, overlay, frame.area());
    }
}

fn header_line(app: &App<'_>, theme: Theme) -> Line<'static> {
    let s = app.snapshot;
    let mut spans = vec![Span::styled(
        format!(
            "{} (pid {}) — {}, {}, {}",
            s.application,
            s.pid,
            s.process_state,
            text::count_of(s.threads.len(), "thread"),
            text::count_of(app.groups.len(), "group")
        ),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    if let Some(fault) = &s.fault {
        spans.push(Span::styled(
            format!(
                "  {} in thread {} (f)",
                fault.signal_name.as_deref().unwrap_or("fault"),
                fault.tid
            ),
            theme.fg(Color::Red),
        ));
    }
    Line::from(spans)
}

fn status_line(app: &App<'_>, theme: Theme) -> Line<'static> {
    if let Some(input) = &app.input {
        return Line::from(format!("/{input}"));
    }
    if !app.status.is_empty() {
        return Line::from(Span::styled(app.status.clone(), theme.fg(Color::Yellow)));
    }
    Line::from(Span::styled(
        "Tab pane  j/k move  Enter open  / search  n/N  f fault  v scope  ? help  q quit",
        theme.fg(Color::DarkGray),
    ))
}

/// A pane: its block (title on the top border) and the area inside.
fn pane(frame: &mut Frame<'_>, title: String, focused: bool, theme: Theme, area: Rect) -> Rect {
    let style = if focused {
        theme.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .title(title)
        .border_style(style);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The first row shown so that row `selected` is visible in `height` rows.
pub fn first_row(selected: usize, height: usize) -> usize {
    (selected + 1).saturating_sub(height.max(1))
}

/// Draws `rows` rows starting at the one that keeps `selected` visible; `line` formats one row.
fn draw_rows(
    frame: &mut Frame<'_>,
    area: Rect,
    rows: usize,
    selected: usize,
    selected_style: Style,
    line: impl Fn(usize) -> Line<'static>,
) {
    let height = usize::from(area.height);
    let first = first_row(selected, height);
    let lines: Vec<Line<'static>> = (first..rows.min(first + height))
        .map(|i| {
            let l = line(i);
            if i == selected {
                l.patch_style(selected_style)
            } else {
                l
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_groups(frame: &mut Frame<'_>, app: &App<'_>, theme: Theme, area: Rect) {
    let title = format!(" Stack groups ({}) ", app.groups.len());
    let focused = app.pane == Pane::Groups;
    let inner = pane(frame, title, focused, theme, area);
    draw_rows(
        frame,
        inner,
        app.groups.len(),
        app.group,
        theme.selected(focused),
        |i| {
            let group = &app.groups[i];
            let thread = group.representative();
            let top = thread
                .frames
                .first()
                .map_or("(no frames)", |f| f.symbol.as_deref().unwrap_or("??"));
            let who = if group.count() == 1 {
                format!("thread {}", thread.tid)
            } else {
                text::count_of(group.count(), "thread")
            };
            let tids = match group.count() {
                1 => String::new(),
                _ => format!("  ({})", text::tid_list(&group.tids())),
            };
            let mut spans = Vec::new();
            if group.fault {
                spans.push(Span::styled(
                    "FAULT ",
                    theme.fg(Color::Red).add_modifier(Modifier::BOLD),
                ));
            }
            spans.push(Span::raw(format!("{who}  ")));
            spans.push(Span::styled(top.to_string(), theme.fg(Color::Green)));
            spans.push(Span::raw(format!("  \"{}\"{tids}", thread.name)));
            Line::from(spans)
        },
    );
}

fn draw_frames(frame: &mut Frame<'_>, app: &App<'_>, theme: Theme, area: Rect) {
    let focused = app.pane == Pane::Frames;
    let title = match app.thread() {
        Some(thread) => format!(" Frames of thread {} ({}) ", thread.tid, thread.frames.len()),
        None => " Frames ".to_string(),
    };
    let inner = pane(frame, title, focused, theme, area);
    let Some(thread) = app.thread() else {
        return;
    };
    draw_rows(
        frame,
        inner,
        app.frame_rows.len(),
        app.frame_row,
        theme.selected(focused),
        |i| {
            let row = &app.frame_rows[i];
            match thread.frames.get(row.frame) {
                Some(f) => {
                    let style = if f.fault {
                        theme.fg(Color::Red)
                    } else {
                        Style::default()
                    };
                    let symbol = f.symbol.clone().unwrap_or_else(|| format!("?? {:#x}", f.pc.0));
                    Line::from(vec![
                        Span::raw(format!("#{:<3} ", f.index)),
                        Span::styled(symbol, style),
                        Span::styled(row.suffix.clone(), theme.fg(Color::Magenta)),
                        Span::styled(frame_place(f), theme.fg(Color::DarkGray)),
                    ])
                }
                None => Line::from(""),
            }
        },
    );
}

fn draw_variables(frame: &mut Frame<'_>, app: &App<'_>, theme: Theme, area: Rect) {
    let focused = app.pane == Pane::Variables;
    let title = match (app.scope, app.frame(), app.thread()) {
        (Scope::Frame, Some(f), _) => format!(
            " Variables of #{} {} ({}) ",
            f.index,
            f.symbol.as_deref().unwrap_or("??"),
            f.variables.len()
        ),
        (Scope::Frame, None, _) => " Variables ".to_string(),
        (Scope::ThreadLocals, _, Some(t)) => {
            format!(" Thread-locals of thread {} ({}) ", t.tid, t.variables.len())
        }
        (Scope::ThreadLocals, _, None) => " Thread-locals ".to_string(),
        (Scope::Globals, _, _) => format!(" Globals ({}) ", app.snapshot.globals.len()),
    };
    let inner = pane(frame, title, focused, theme, area);
    let variables = app.variables();
    if variables.is_empty() {
        frame.render_widget(Paragraph::new("(no variables)"), inner);
        return;
    }
    draw_rows(
        frame,
        inner,
        app.var_rows.len(),
        app.var_row,
        theme.selected(focused),
        |i| {
            let row = &app.var_rows[i];
            let Some(variable) = variable_at(variables, &row.path) else {
                return Line::from("");
            };
            let marker = match (variable.children.is_empty(), app.expanded.contains(&row.path)) {
                (true, _) => "  ",
                (false, true) => "▾ ",
                (false, false) => "▸ ",
            };
            let mut value = crate::snapshot::value_text::render_value(variable);
            if value.chars().count() > MAX_VALUE {
                value = value.chars().take(MAX_VALUE).collect::<String>() + "…";
            }
            let mut spans = vec![
                Span::raw(format!("{}{marker}", "  ".repeat(row.depth()))),
                Span::styled(variable.name.to_string(), theme.fg(Color::Cyan)),
                Span::raw(" = "),
                Span::raw(value),
                Span::styled(format!("  {}", variable.type_name), theme.fg(Color::DarkGray)),
            ];
            if variable.state != VariableState::Ok {
                spans.push(Span::styled(
                    format!("  [{}]", variable.state),
                    theme.fg(Color::Yellow),
                ));
            }
            if variable.parameter {
                spans.push(Span::styled("  (parameter)", theme.fg(Color::DarkGray)));
            }
            for annotation in &variable.annotations {
                spans.push(Span::styled(
                    format!("  ({})", text::annotation_line(annotation)),
                    theme.fg(Color::Yellow),
                ));
            }
            Line::from(spans)
        },
    );
}

/// Where a frame is, after its symbol in the frames pane (its parameters are in the variables
/// pane): `  at file:line`, else `  from object`, then its flags.
pub fn frame_place(frame: &crate::snapshot::Frame) -> String {
    let mut place = match (&frame.file, frame.line, &frame.object) {
        (Some(file), Some(line), _) => format!("  at {file}:{line}"),
        (_, _, Some(object)) => format!("  from {object}"),
        _ => String::new(),
    };
    place.push_str(&text::frame_flags(frame));
    place
}

/// The lines of `overlay`.
pub fn overlay_lines(app: &App<'_>, overlay: Overlay) -> Vec<String> {
    match overlay {
        Overlay::Help => HELP
            .iter()
            .map(|(key, what)| format!("{key:<16} {what}"))
            .collect(),
        Overlay::Info => text::header_text(app.snapshot)
            .lines()
            .map(str::to_string)
            .collect(),
        Overlay::Registers => registers_lines(app),
        Overlay::Variable => variable_lines(app),
        Overlay::Modules => app
            .snapshot
            .modules
            .iter()
            .flat_map(|m| {
                [
                    format!("{}  {:#x} ({} bytes)", m.path, m.base.0, m.size),
                    format!(
                        "    build id {}  debug file {}",
                        m.build_id.as_deref().unwrap_or("none"),
                        m.debug_file.as_deref().unwrap_or("none")
                    ),
                ]
            })
            .collect(),
    }
}

fn draw_overlay(frame: &mut Frame<'_>, app: &App<'_>, overlay: Overlay, area: Rect) {
    let title = match overlay {
        Overlay::Help => " Keys (any key closes) ",
        Overlay::Info => " Snapshot (Esc closes, j/k scroll) ",
        Overlay::Modules => " Modules (Esc closes, j/k scroll) ",
        Overlay::Registers => " Registers (Esc closes, j/k scroll) ",
        Overlay::Variable => " Variable (Esc closes, j/k scroll) ",
    };
    let lines: Vec<Line<'static>> = overlay_lines(app, overlay).into_iter().map(Line::from).collect();
    // Long lines wrap; the scroll counts the lines as wrapped.
    let scroll = u16::try_from(app.overlay_scroll).unwrap_or(u16::MAX);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// The registers of the selected frame, one per line (those the unwinder recovered for frames
/// above the first).
fn registers_lines(app: &App<'_>) -> Vec<String> {
    let Some(frame) = app.frame() else {
        return vec!["(no frame selected)".to_string()];
    };
    let mut lines = vec![format!(
        "#{} {}  pc {:#x}  cfa {}",
        frame.index,
        frame.symbol.as_deref().unwrap_or("??"),
        frame.pc.0,
        frame
            .cfa
            .map_or_else(|| "unknown".to_string(), |c| format!("{:#x}", c.0))
    )];
    if frame.registers.is_empty() {
        lines.push("(no registers recorded for this frame)".to_string());
    }
    lines.extend(
        frame
            .registers
            .iter()
            .map(|(name, value)| format!("{name:<8} {:#018x}  {}", value.0, value.0)),
    );
    lines
}

/// The selected variable whole: name, type, kind, state, address, the value unclipped, the
/// entry value, the symbol it points at, annotations.
fn variable_lines(app: &App<'_>) -> Vec<String> {
    let Some(v) = app.variable() else {
        return vec!["(no variable selected)".to_string()];
    };
    let mut lines = vec![
        format!(
            "{} ({})",
            v.name,
            if v.parameter { "parameter" } else { "variable" }
        ),
        format!("type   {}", v.type_name),
        format!("kind   {}   state {}", v.kind, v.state),
    ];
    if let Some(address) = v.address {
        lines.push(format!("at     {:#x}", address.0));
    }
    lines.push(String::new());
    // With the entry value as gdb shows it in a frame line (`n = 6, n@entry=5`).
    lines.push(crate::snapshot::value_text::render_assignment(v));
    if let Some(symbol) = &v.target_symbol {
        lines.push(format!("points into {symbol}"));
    }
    for annotation in &v.annotations {
        lines.push(format!("({})", text::annotation_line(annotation)));
    }
    lines
}
