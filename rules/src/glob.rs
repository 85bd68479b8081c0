//! Expanding `rule_files` patterns (`*`, `?`, `[…]` in any path component,
//! as Go's `filepath.Glob`).

use std::path::{Path, PathBuf};

use crate::error::RuleError;

/// Paths matching `pattern`, sorted. A pattern without wildcards is
/// returned as it is (so that a missing file is reported when read); a
/// pattern with wildcards that matches nothing gives no paths.
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>, RuleError> {
    if !pattern.contains(['*', '?', '[']) {
        return Ok(vec![PathBuf::from(pattern)]);
    }
    let path = Path::new(pattern);
    let mut current: Vec<PathBuf> = vec![if path.is_absolute() {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    for comp in path.components() {
        let part = comp.as_os_str().to_string_lossy().to_string();
        if matches!(comp, std::path::Component::RootDir) {
            continue;
        }
        if !part.contains(['*', '?', '[']) {
            current = current.into_iter().map(|p| p.join(&part)).collect();
            continue;
        }
        let re = to_regex(&part).map_err(|reason| RuleError::Glob {
            pattern: pattern.to_string(),
            reason,
        })?;
        let mut next = Vec::new();
        for dir in &current {
            let list = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            let Ok(entries) = std::fs::read_dir(list) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if re.is_match(&name) {
                    next.push(dir.join(name));
                }
            }
        }
        current = next;
    }
    current.sort();
    Ok(current.into_iter().filter(|p| p.exists()).collect())
}

fn to_regex(glob: &str) -> Result<regex::Regex, String> {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'!') || chars.peek() == Some(&'^') {
                    chars.next();
                    re.push('^');
                }
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == ']' {
                        closed = true;
                        break;
                    }
                    if d == '\\' || d == '[' {
                        re.push('\\');
                    }
                    re.push(d);
                }
                if !closed {
                    return Err("unclosed [".into());
                }
                re.push(']');
            }
            '\\' => {
                if let Some(d) = chars.next() {
                    re.push_str(&regex::escape(&d.to_string()));
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.yml", "b.yml", "c.yaml", ".hidden.yml", "sub/d.yml"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let base = dir.path().display().to_string();
        let names = |pat: &str| -> Vec<String> {
            expand(&format!("{base}/{pat}"))
                .unwrap()
                .iter()
                .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
                .collect()
        };
        let cases: &[(&str, &[&str])] = &[
            ("*.yml", &[".hidden.yml", "a.yml", "b.yml"]),
            ("?.y*", &["a.yml", "b.yml", "c.yaml"]),
            ("[ab].yml", &["a.yml", "b.yml"]),
            ("[!a].yml", &["b.yml"]),
            ("*/*.yml", &["sub/d.yml"]),
            ("*.none", &[]),
            ("plain.yml", &["plain.yml"]),
        ];
        for (pat, want) in cases {
            assert_eq!(names(pat), *want, "{pat}");
        }
        assert!(expand("[a.yml").is_err());
    }
}
