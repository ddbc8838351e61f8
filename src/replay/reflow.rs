//! Pretty `Debug` text made compact: a node's state printed with `{:#?}`
//! puts every field of every tuple on its own line; groups that fit are put
//! back on one line, and the short items of a longer list share lines, for
//! the terminal view and the HTML panel alike.

/// The longest item of a list that still shares a line with others.
const SHORT: usize = 24;

/// Pretty `Debug` text (`{:#?}`) with each group that fits in `width`
/// characters, indentation included, put back on one line: a set of pairs
/// reads `{(NodeId(0), 1), (NodeId(1), 1)}` rather than taking 16 lines. A
/// list too long for one line whose items are short (numbers, small
/// tuples) is filled several items to a line, so that what follows it in
/// the state (a hold-back buffer after a long `delivered` list) is not
/// pushed out of sight.
pub fn reflow(pretty: &str, width: usize) -> Vec<String> {
    let lines: Vec<&str> = pretty.lines().collect();
    let mut at = 0;
    let mut out = Vec::new();
    while at < lines.len() {
        group(&lines, &mut at).emit(width, &mut out);
    }
    out
}

/// A line of pretty `Debug` text, with the lines it opens up to its closing one.
struct Group {
    indent: usize,
    open: String,
    children: Vec<Group>,
    close: Option<String>,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The group that starts at `lines[*at]`, leaving `*at` after it.
fn group(lines: &[&str], at: &mut usize) -> Group {
    let line = lines[*at];
    *at += 1;
    let indent = indent_of(line);
    let mut this = Group {
        indent,
        open: line.trim().to_string(),
        children: Vec::new(),
        close: None,
    };
    if !line.trim_end().ends_with(['{', '(', '[']) {
        return this;
    }
    while *at < lines.len() {
        let next = lines[*at];
        if indent_of(next) <= indent {
            if indent_of(next) == indent && next.trim_start().starts_with(['}', ')', ']']) {
                this.close = Some(next.trim().to_string());
                *at += 1;
            }
            break;
        }
        this.children.push(group(lines, at));
    }
    this
}

impl Group {
    /// The group on one line, without indentation.
    fn one_line(&self) -> String {
        let Some(close) = &self.close else {
            return self.open.clone();
        };
        if self.children.is_empty() {
            return format!("{}{close}", self.open);
        }
        let inner: Vec<String> = self.children.iter().map(Group::one_line).collect();
        let inner = inner.join(" ");
        let inner = inner.strip_suffix(',').unwrap_or(&inner);
        // A struct reads `Name { a: 1 }`; a set or a map `{1, 2}` (as `{:?}`).
        if self.open.ends_with('{') && self.named() {
            format!("{} {inner} {close}", self.open)
        } else {
            format!("{}{inner}{close}", self.open)
        }
    }

    /// Whether the group opens a struct or a tuple struct (`Name {`,
    /// `Some(`), rather than a list, a set, a map or a tuple.
    fn named(&self) -> bool {
        let before = self.open.trim_end_matches(['{', '(', '[']).trim_end();
        !self.open.ends_with('[') && before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
    }

    fn emit(&self, width: usize, out: &mut Vec<String>) {
        let pad = " ".repeat(self.indent);
        let line = self.one_line();
        if self.close.is_some() && self.indent + line.chars().count() <= width {
            out.push(format!("{pad}{line}"));
            return;
        }
        out.push(format!("{pad}{}", self.open));
        match self.packed(width) {
            Some(lines) => out.extend(lines),
            None => self
                .children
                .iter()
                .for_each(|child| child.emit(width, out)),
        }
        if let Some(close) = &self.close {
            out.push(format!("{pad}{close}"));
        }
    }

    /// The items of a list, several to a line, if every one is short.
    fn packed(&self, width: usize) -> Option<Vec<String>> {
        let indent = self.children.first()?.indent;
        let items: Vec<String> = self.children.iter().map(Group::one_line).collect();
        let short =
            |i: usize| items[i].chars().count() <= SHORT && self.children[i].indent == indent;
        if self.close.is_none() || self.named() || !(0..items.len()).all(short) {
            return None;
        }
        let pad = " ".repeat(indent);
        let mut lines: Vec<String> = Vec::new();
        for item in items {
            match lines.last_mut() {
                Some(line) if line.chars().count() + 1 + item.chars().count() <= width => {
                    line.push(' ');
                    line.push_str(&item);
                }
                _ => lines.push(format!("{pad}{item}")),
            }
        }
        Some(lines)
    }
}
