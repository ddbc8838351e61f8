//! A bug's patch: what the bug is, and for each reference file the lines
//! to find and what replaces them (see the build script's documentation).

/// A bug: what it is, and its changes to each reference file.
pub struct Patch {
    /// What the bug is, in words (the variant module's documentation).
    pub what: Vec<String>,
    /// Each reference file the patch changes (`folder/file.rs`), with its
    /// changes in order.
    pub files: Vec<(String, Vec<Change>)>,
}

/// One change: lines to find (context and removed) and what replaces them
/// (context and added).
pub struct Change {
    before: Vec<String>,
    after: Vec<String>,
}

impl Patch {
    pub fn parse(text: &str) -> Result<Patch, String> {
        let mut what = Vec::new();
        let mut files: Vec<(String, Vec<Change>)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if let Some(file) = line.strip_prefix("--- ") {
                files.push((file.trim().to_string(), Vec::new()));
                continue;
            }
            let Some((_, changes)) = files.last_mut() else {
                if !line.trim().is_empty() {
                    what.push(line.trim().to_string());
                }
                continue;
            };
            if line.starts_with("@@") {
                changes.push(Change {
                    before: Vec::new(),
                    after: Vec::new(),
                });
                continue;
            }
            let change = changes
                .last_mut()
                .ok_or_else(|| format!("line {}: a change starts with @@", n + 1))?;
            let (mark, rest) = line.split_at(line.len().min(1));
            match mark {
                " " | "" => {
                    change.before.push(rest.to_string());
                    change.after.push(rest.to_string());
                }
                "-" => change.before.push(rest.to_string()),
                "+" => change.after.push(rest.to_string()),
                _ => {
                    return Err(format!(
                        "line {}: a line starts with ' ', '-' or '+'",
                        n + 1
                    ))
                }
            }
        }
        if what.is_empty() || files.is_empty() {
            return Err("say what the bug is, then the changes (--- file, @@, lines)".to_string());
        }
        Ok(Patch { what, files })
    }
}

impl Change {
    pub fn apply(&self, source: &str) -> Result<String, String> {
        let lines: Vec<&str> = source.lines().collect();
        let n = self.before.len();
        let found: Vec<usize> = (0..lines.len().saturating_sub(n) + 1)
            .filter(|&i| {
                n > 0
                    && lines[i..i + n]
                        .iter()
                        .zip(&self.before)
                        .all(|(a, b)| a == b)
            })
            .collect();
        let at = match found.as_slice() {
            [at] => *at,
            [] => {
                return Err(format!(
                "the change no longer applies: these lines are not in the reference any more:\n{}",
                self.before.join("\n")
            ))
            }
            _ => {
                return Err(format!(
                    "the change applies in {} places: give more context lines:\n{}",
                    found.len(),
                    self.before.join("\n")
                ))
            }
        };
        let mut out: Vec<&str> = lines[..at].to_vec();
        out.extend(self.after.iter().map(String::as_str));
        out.extend(&lines[at + n..]);
        Ok(out.join("\n") + "\n")
    }
}
