#!/usr/bin/env python3
"""Turns a terminal screen captured with `tmux capture-pane -e -p` (text with SGR colour escapes)
into a standalone HTML page of the same cells, for a headless browser to photograph.

    ansi-to-html.py [TITLE] < capture.txt > screen.html

Only what tmux emits for a ratatui screen is understood: SGR resets, bold, dim, italic,
underline, reverse, the 8/16 basic colours, 256-colour and RGB colours. Other escapes are
dropped.
"""
import html
import re
import sys

# The xterm palette of the 16 basic colours.
BASIC = [
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
]
FOREGROUND, BACKGROUND = "#e5e5e5", "#1e1e1e"


def colour_256(n):
    if n < 16:
        return BASIC[n]
    if n < 232:
        n -= 16
        levels = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (levels[n // 36], levels[(n // 6) % 6], levels[n % 6])
    grey = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (grey, grey, grey)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = BASIC[c - 30]
            elif 90 <= c <= 97:
                self.fg = BASIC[c - 90 + 8]
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = BASIC[c - 40]
            elif 100 <= c <= 107:
                self.bg = BASIC[c - 100 + 8]
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    value = colour_256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    value = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    value = None
                if c == 38:
                    self.fg = value
                else:
                    self.bg = value
            i += 1

    def css(self):
        fg, bg = self.fg or FOREGROUND, self.bg or BACKGROUND
        if self.reverse:
            fg, bg = bg, fg
        rules = ["color:%s" % fg, "background:%s" % bg]
        if self.bold:
            rules.append("font-weight:bold")
        if self.dim:
            rules.append("opacity:0.7")
        if self.italic:
            rules.append("font-style:italic")
        if self.underline:
            rules.append("text-decoration:underline")
        return ";".join(rules)


ESCAPE = re.compile(r"\x1b\[([0-9;]*)([A-Za-z])|\x1b[()][A-Za-z0-9]|\x1b.")


def line_html(line, style):
    out, pos = [], 0
    for m in ESCAPE.finditer(line):
        if m.start() > pos:
            out.append('<span style="%s">%s</span>' % (style.css(), html.escape(line[pos:m.start()])))
        if m.group(2) == "m":
            style.apply(m.group(1))
        pos = m.end()
    if pos < len(line):
        out.append('<span style="%s">%s</span>' % (style.css(), html.escape(line[pos:])))
    return "".join(out)


def main():
    title = sys.argv[1] if len(sys.argv) > 1 else "terminal"
    style = Style()
    lines = sys.stdin.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    body = "\n".join(line_html(l, style) for l in lines)
    print(
        "<!doctype html><meta charset=utf-8><title>%s</title>"
        "<style>body{margin:0;background:%s}"
        "pre{margin:0;padding:8px;font:15px/1.25 'DejaVu Sans Mono',monospace;color:%s}</style>"
        "<pre>%s</pre>" % (html.escape(title), BACKGROUND, FOREGROUND, body)
    )


if __name__ == "__main__":
    main()
